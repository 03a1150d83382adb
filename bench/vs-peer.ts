/**
 * Whole `docusaurus build`s against the real peer (issue 11): one generated book, three sites, one run.
 *
 *   (a) floor — a plain local `docs/` folder read by the classic preset's docs plugin (what a build costs
 *       when the content is already on disk);
 *   (b) peer  — docusaurus-plugin-remote-content 4.0.0 (the plugin people use for remote docs today): it
 *       downloads every file of the book over HTTP from a static server behind a latency proxy;
 *   (c) ours  — panaversity-fs/docusaurus reading PostgreSQL + S3 (s3rver) through the same kind of proxy;
 *   (d) floor and ours again with Docusaurus Faster (Rspack, `future: { v4: true }`; issue 17): the Faster row.
 *
 * Scenarios: cold (no caches at all), unchanged (rebuild, every cache kept), 3 changed (three pages edited
 * in the store, the served files and the local folder). Printed per build: object GETs at the proxy, the
 * content load time and the build wall time, as ratios to the floor and to the peer.
 *
 *   npx tsx bench/vs-peer.ts [--pages 1110] [--latency 50] [--out bench/results/vs-peer.md]
 *                            [--variants floor,peer,ours,floor-faster,ours-faster]   (e.g. only the Faster row)
 *   The -faster variants need `npm install --no-save @docusaurus/faster@3.10.2` first: it is not a devDependency,
 *   because the registry here lacks some of its optional platform packages and `npm ci` then refuses the lockfile.
 *
 * First, the load alone (what the plugin's loadContent runs before the docs plugin reads the files): a cold
 * `syncBook` of the book at each of --concurrencies, from S3 behind the proxy and from a local object folder
 * (the same book in a second store), to pick the default `concurrency`. --load-only stops there.
 *
 * Load time: ours = the plugin's own load (journal open, plan, fetch, write; report.json); peer = first
 * GET to last response at its proxy (it downloads in its constructor, one file after another). Needs
 * `npm run build` (the site loads panaversity-fs/docusaurus from dist/) and PostgreSQL (test/support/postgres.ts).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { openStore, sha256Hex, type StoreOptions } from "../src/index.js";
import { DEFAULT_OPTIONS, syncBook } from "../src/docusaurus/index.js";
import { generateSyntheticBook, type BookFile } from "../scripts/sample-book.js";
import { seedBook } from "../scripts/seed.js";
import { REPO_DIR } from "../test/fixtures/docusaurus/harness.js";
import { startCountingProxy, type CountingProxy } from "../test/fixtures/docusaurus/counting-proxy.js";
import { createTestDatabase } from "../test/support/postgres.js";
import { createBucket, startS3rver, S3RVER_ACCESS_KEY, S3RVER_SECRET } from "../test/support/s3rver.js";
import { serveStatic } from "../test/support/static-server.js";

const { values: args } = parseArgs({
  options: {
    pages: { type: "string", default: "1110" },
    latency: { type: "string", default: "50" },
    out: { type: "string" },
    concurrencies: { type: "string", default: "16,64" },
    "load-only": { type: "boolean", default: false },
    variants: { type: "string", default: "floor,peer,ours,floor-faster,ours-faster" },
  },
});
const PAGES = Number(args.pages);
const LATENCY_MS = Number(args.latency);
const LESSONS_PER_CHAPTER = 21;
const PARTS = 5;
const BOOK_ID = "vs-peer-book";
const DOCUSAURUS_BIN = join(REPO_DIR, "node_modules", "@docusaurus", "core", "bin", "docusaurus.mjs");

type Variant = "floor" | "peer" | "ours" | "floor-faster" | "ours-faster";
/** The -faster variants are the same sites with Docusaurus Faster (Rspack, `future: { v4: true }`). */
const ALL_VARIANTS: Variant[] = ["floor", "peer", "ours", "floor-faster", "ours-faster"];
const VARIANTS = ALL_VARIANTS.filter((v) => args.variants.split(",").includes(v));
const baseVariant = (v: Variant) => v.replace(/-faster$/, "") as "floor" | "peer" | "ours";
type Scenario = "cold" | "unchanged" | "3 changed";

interface Measure {
  gets: number;
  loadMs?: number;
  buildMs: number;
}

/** A site folder inside the repository (test-artifacts/ is git-ignored) so Docusaurus and both plugins resolve. */
function siteConfig(v: Variant, extra: { bookUrl: string; ours: Record<string, unknown>; contentDocs: string[]; staticDocs: string[] }): string {
  const variant = baseVariant(v);
  const docs = variant === "ours" ? false : { path: "docs", routeBasePath: "docs" };
  const plugins =
    variant === "peer"
      ? [
          // The book's pages and its static files, each downloaded into the folder the site reads.
          ["docusaurus-plugin-remote-content", { name: "content", sourceBaseUrl: `${extra.bookUrl}/content/`, outDir: "docs", documents: extra.contentDocs, requestConfig: { responseType: "arraybuffer" } }],
          ["docusaurus-plugin-remote-content", { name: "static", sourceBaseUrl: `${extra.bookUrl}/static/`, outDir: "static", documents: extra.staticDocs, requestConfig: { responseType: "arraybuffer" } }],
        ]
      : variant === "ours"
        ? [["panaversity-fs/docusaurus", extra.ours]]
        : [];
  return `module.exports = ${JSON.stringify(
    {
      title: `vs-peer ${v}`,
      url: "https://bench.example.com",
      baseUrl: "/",
      ...(v.endsWith("-faster") ? { future: { v4: true } } : {}),
      onBrokenLinks: "warn",
      markdown: { hooks: { onBrokenMarkdownLinks: "warn" } },
      presets: [["classic", { docs, blog: false, theme: {} }]],
      plugins,
    },
    null,
    2,
  )};\n`;
}

async function writeFiles(root: string, files: BookFile[], strip: string): Promise<void> {
  for (const f of files) {
    const target = join(root, f.path.slice(strip.length));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, f.content);
  }
}

function runBuild(siteDir: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [DOCUSAURUS_BIN, "build", siteDir, "--no-minify"],
      { cwd: siteDir, env: { ...process.env, NODE_ENV: "production", FORCE_COLOR: "0" }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`build of ${siteDir} failed:\n${`${stdout}\n${stderr}`.slice(-4000)}`)) : resolve(performance.now() - started)),
    ),
  );
}

/** First request to last response at a proxy since its last reset. */
function spanMs(proxy: CountingProxy): number | undefined {
  const gets = proxy.requests.filter((r) => r.method === "GET");
  if (gets.length === 0) return undefined;
  return Math.max(...gets.map((r) => r.doneAt ?? r.at)) - Math.min(...gets.map((r) => r.at));
}

const fmtMs = (ms: number | undefined) => (ms === undefined ? "—" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const ratio = (a: number | undefined, b: number | undefined) => {
  if (a === undefined || b === undefined || b === 0) return "—";
  const r = a / b;
  return `${r < 0.1 ? r.toPrecision(2) : r.toFixed(2)}×`;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function track<T extends { drop(): Promise<void> }>(cleanups: (() => Promise<unknown>)[], p: Promise<T>): Promise<T> {
  const x = await p;
  cleanups.push(() => x.drop());
  return x;
}

/** One cold load with the plugin's own defaults, into an emptied cache folder; its time as the plugin reports it. */
async function coldLoad(store: StoreOptions, cacheDir: string, concurrency: number): Promise<number> {
  await rm(cacheDir, { recursive: true, force: true });
  const { stats } = await syncBook({ ...DEFAULT_OPTIONS, bookId: BOOK_ID, cacheDir, store, concurrency, includeSummaries: false });
  return stats.ms;
}

async function report(text: string): Promise<void> {
  process.stdout.write("\n" + text);
  if (args.out) {
    await mkdir(dirname(args.out), { recursive: true });
    await writeFile(args.out, text);
  }
}

async function main() {
  const root = join(REPO_DIR, "test-artifacts", `vs-peer-${randomBytes(4).toString("hex")}`);
  const s3 = await startS3rver();
  const db = await createTestDatabase();
  const cleanups: (() => Promise<unknown>)[] = [() => rm(root, { recursive: true, force: true }), () => db.drop(), () => s3.stop()];
  try {
    // Pages per chapter: its lessons and its intro.
    const chapters = Math.max(1, Math.round(PAGES / PARTS / (LESSONS_PER_CHAPTER + 1)));
    const book = generateSyntheticBook({ parts: PARTS, chaptersPerPart: chapters, lessonsPerChapter: LESSONS_PER_CHAPTER, extraParagraphs: 6, summaries: false, bookId: BOOK_ID });
    const content = book.files.filter((f) => f.path.startsWith("content/"));
    const statics = book.files.filter((f) => f.path.startsWith("static/"));
    const pages = content.filter((f) => /\.mdx?$/.test(f.path)).length;
    process.stderr.write(`Book: ${book.files.length} files (${pages} pages, ${statics.length} static files); latency ${LATENCY_MS} ms per request.\n`);

    // The book as the peer fetches it: files on a static web server, behind a latency proxy.
    const served = join(root, "served");
    await writeFiles(served, book.files, "");
    const web = await serveStatic(served);
    cleanups.push(() => web.close());
    const webProxy = await startCountingProxy(web.url, { latencyMs: LATENCY_MS });
    cleanups.push(() => webProxy.close());

    // The book in our store: PostgreSQL + an S3 bucket, read through a latency proxy.
    const bucket = `vs-peer-${randomBytes(4).toString("hex")}`;
    await createBucket(s3.endpoint, bucket);
    const s3Config = { kind: "s3" as const, bucket, accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET, forcePathStyle: true };
    const storeOptions: StoreOptions = { databaseUrl: db.url, storage: { ...s3Config, endpoint: s3.endpoint } };
    const seeder = await openStore(storeOptions);
    cleanups.unshift(() => seeder.close());
    await seedBook(seeder, book, { agentId: "bench-vs-peer" });
    const s3Proxy = await startCountingProxy(s3.endpoint, { latencyMs: LATENCY_MS });
    cleanups.push(() => s3Proxy.close());

    // The load alone, cold, at each concurrency: S3 behind the latency proxy, and a local object folder.
    const localOptions: StoreOptions = { databaseUrl: (await track(cleanups, createTestDatabase())).url, storage: { kind: "local", dir: join(root, "objects") } };
    const localSeeder = await openStore(localOptions);
    await seedBook(localSeeder, book, { agentId: "bench-vs-peer" }).finally(() => localSeeder.close());
    const loadLines = [
      `Cold load alone (syncBook into an empty cache), ${pages} pages, ${LATENCY_MS} ms per S3 request; median of 3 (default concurrency ${DEFAULT_OPTIONS.concurrency}):`,
      "",
      "| concurrency | S3 + latency: GETs | S3 + latency: load | local folder: load |",
      "|---|---|---|---|",
    ];
    for (const concurrency of args.concurrencies.split(",").map(Number)) {
      const s3Ms: number[] = [];
      const localMs: number[] = [];
      let gets = 0;
      for (let round = 0; round < 3; round++) {
        s3Proxy.reset();
        s3Ms.push(await coldLoad({ databaseUrl: db.url, storage: { ...s3Config, endpoint: s3Proxy.url } }, join(root, "load-cache"), concurrency));
        gets = s3Proxy.objectGets().length;
        localMs.push(await coldLoad(localOptions, join(root, "load-cache"), concurrency));
      }
      loadLines.push(`| ${concurrency} | ${gets} | ${fmtMs(median(s3Ms))} | ${fmtMs(median(localMs))} |`);
      process.stderr.write(`  load at concurrency ${concurrency}: S3 ${fmtMs(median(s3Ms))}, local ${fmtMs(median(localMs))}\n`);
    }
    const loadTable = loadLines.join("\n") + "\n";
    if (args["load-only"]) {
      await report(loadTable);
      return;
    }

    const sites = Object.fromEntries(VARIANTS.map((v) => [v, join(root, v)])) as Record<Variant, string>;
    const ours = { bookId: BOOK_ID, databaseUrl: db.url, storage: { ...s3Config, endpoint: s3Proxy.url }, includeSummaries: false };
    for (const v of VARIANTS) {
      await mkdir(join(sites[v], "node_modules"), { recursive: true });
      await writeFile(join(sites[v], "package.json"), JSON.stringify({ name: `vs-peer-${v}`, private: true }));
      await writeFile(
        join(sites[v], "docusaurus.config.js"),
        siteConfig(v, { bookUrl: webProxy.url, ours, contentDocs: content.map((f) => f.path.slice("content/".length)), staticDocs: statics.map((f) => f.path.slice("static/".length)) }),
      );
      if (baseVariant(v) === "ours") await symlink(REPO_DIR, join(sites[v], "node_modules", "panaversity-fs"), "dir");
      // The docs plugin checks its folder exists when it is constructed (the peer fills it in its own constructor).
      await mkdir(join(sites[v], "docs"), { recursive: true });
      await mkdir(join(sites[v], "static"), { recursive: true });
    }
    for (const floor of [sites.floor, sites["floor-faster"]].filter(Boolean)) {
      await writeFiles(join(floor, "docs"), content, "content/");
      await writeFiles(join(floor, "static"), statics, "static/");
    }

    const results = new Map<string, Measure>();
    const lessons = content.filter((f) => /\/\d+-[^/]*\.md$/.test(f.path) && !f.path.endsWith("README.md"));
    for (const scenario of ["cold", "unchanged", "3 changed"] as Scenario[]) {
      if (scenario === "cold") {
        for (const v of VARIANTS) {
          for (const d of [".docusaurus", "build", join("node_modules", ".cache"), ".panaversity-cache"]) await rm(join(sites[v], d), { recursive: true, force: true });
        }
      }
      if (scenario === "3 changed") {
        const edits = [0.2, 0.5, 0.8].map((x) => lessons[Math.floor(x * lessons.length)]!);
        for (const f of edits) {
          const next = Buffer.concat([f.content, Buffer.from(`\nEdited for the vs-peer bench at ${new Date().toISOString()}.\n`)]);
          await seeder.write({ bookId: BOOK_ID, path: f.path, content: next, expectedHash: sha256Hex(f.content), agentId: "bench-vs-peer" });
          await writeFile(join(served, f.path), next);
          for (const floor of [sites.floor, sites["floor-faster"]].filter(Boolean)) await writeFile(join(floor, "docs", f.path.slice("content/".length)), next);
        }
      }
      for (const v of VARIANTS) {
        webProxy.reset();
        s3Proxy.reset();
        process.stderr.write(`  ${scenario.padEnd(9)} ${v.padEnd(5)} … `);
        const buildMs = await runBuild(sites[v]);
        const m: Measure = { buildMs, gets: 0 };
        if (v === "peer") {
          m.gets = webProxy.requests.filter((r) => r.method === "GET").length;
          m.loadMs = spanMs(webProxy) ?? 0;
        } else if (baseVariant(v) === "ours") {
          m.gets = s3Proxy.objectGets().length;
          m.loadMs = (JSON.parse(await readFile(join(sites[v], ".panaversity-cache", "report.json"), "utf8")) as { ms: number }).ms;
        }
        results.set(`${scenario}/${v}`, m);
        process.stderr.write(`${fmtMs(buildMs)} build, ${m.gets} GETs, load ${fmtMs(m.loadMs)}\n`);
      }
    }

    const lines = [
      `vs-peer: ${pages} pages (${book.files.length} files), ${LATENCY_MS} ms added per request, whole \`docusaurus build\`s, one run (${new Date().toISOString()}).`,
      `floor = local docs folder; peer = docusaurus-plugin-remote-content 4.0.0 over HTTP; ours = panaversity-fs/docusaurus (PostgreSQL + S3).`,
      "",
      "| scenario | floor build | peer GETs | peer load | peer build | ours GETs | ours load | ours build | ours/floor build | peer/floor build | ours/peer load | ours/peer build |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ];
    for (const scenario of ["cold", "unchanged", "3 changed"] as Scenario[]) {
      if (![`floor`, `peer`, `ours`].every((v) => results.has(`${scenario}/${v}`))) break;
      const f = results.get(`${scenario}/floor`)!;
      const p = results.get(`${scenario}/peer`)!;
      const o = results.get(`${scenario}/ours`)!;
      lines.push(
        `| ${scenario} | ${fmtMs(f.buildMs)} | ${p.gets} | ${fmtMs(p.loadMs)} | ${fmtMs(p.buildMs)} | ${o.gets} | ${fmtMs(o.loadMs)} | ${fmtMs(o.buildMs)} | ` +
          `${ratio(o.buildMs, f.buildMs)} | ${ratio(p.buildMs, f.buildMs)} | ${ratio(o.loadMs, p.loadMs)} | ${ratio(o.buildMs, p.buildMs)} |`,
      );
    }
    lines.push(
      "",
      "Docusaurus Faster (Rspack, `future: { v4: true }`), the same book and scenarios:",
      "",
      "| scenario | floor build | ours GETs | ours load | ours build | ours/floor build |",
      "|---|---|---|---|---|---|",
    );
    for (const scenario of ["cold", "unchanged", "3 changed"] as Scenario[]) {
      if (!results.has(`${scenario}/ours-faster`) || !results.has(`${scenario}/floor-faster`)) break;
      const f = results.get(`${scenario}/floor-faster`)!;
      const o = results.get(`${scenario}/ours-faster`)!;
      lines.push(`| ${scenario} | ${fmtMs(f.buildMs)} | ${o.gets} | ${fmtMs(o.loadMs)} | ${fmtMs(o.buildMs)} | ${ratio(o.buildMs, f.buildMs)} |`);
    }
    await report(lines.join("\n") + "\n\n" + loadTable);
  } finally {
    for (const c of cleanups) await c().catch(() => {});
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
