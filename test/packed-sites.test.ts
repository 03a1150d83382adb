/**
 * The published package, as a user installs it (issue 11): `npm pack` the built package, install the tarball
 * into folders of their own under the system temp folder (outside this repository, so nothing resolves from
 * its node_modules), and use it there:
 * - a store-only project: no Docusaurus is installed (its peers are optional); the store loads under
 *   `import` and `require` and reads a real store; the `pfs` CLI runs;
 * - two standalone Docusaurus sites (test/fixtures/packed-sites): a CommonJS `docusaurus.config.js` and an
 *   ES-module `docusaurus.config.mjs` in a `"type": "module"` package, each with its own remark plugin and MDX
 *   component map. The plugin's entries load under Node ESM and `require`, and `docusaurus build` (which
 *   loads the plugin through its jiti loader) renders the book from a PostgreSQL + local-folder store.
 *
 * Installing: `npm install --prefer-offline` of the tarball plus Docusaurus and React at this repository's
 * lockfile versions, so npm's cache (filled by `npm ci`) serves nearly everything. The sites install
 * Docusaurus themselves and the tarball's Docusaurus peers resolve to the site's copies, as in a real site.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import { createTestDatabase, type TestDatabase } from "./support/postgres.js";
import { REPO_DIR, html, seedBook } from "./fixtures/docusaurus/harness.js";

const exec = promisify(execFile);
const FIXTURES = join(REPO_DIR, "test", "fixtures", "packed-sites");
const BOOK_ID = "packed-book";
const SITES = ["cjs", "esm"] as const;
type Site = (typeof SITES)[number];

const lock = JSON.parse(readFileSync(join(REPO_DIR, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
/** A site's own dependencies, at the versions this repository is tested with. */
const SITE_DEPENDENCIES = Object.fromEntries(
  ["@docusaurus/core", "@docusaurus/preset-classic", "@mdx-js/react", "react", "react-dom"].map((name) => [name, lock.packages[`node_modules/${name}`]!.version]),
);

/** The children's environment: no store settings leak in from the machine (they would win over the config's). */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|PFS_|AWS_)/.test(k)));
  return { ...env, FORCE_COLOR: "0", NODE_OPTIONS: "", ...extra };
}

let root: string;
let tarball: string;
let db: TestDatabase;
let storeSettings: { bookId: string; databaseUrl: string; objectsDir: string };
const dirs = {} as Record<Site | "store-only", string>;

async function install(dir: string, dependencies: Record<string, string>): Promise<void> {
  const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8").catch(() => "{}"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "pfs-packed-consumer", private: true, ...pkg, dependencies }, null, 2));
  await exec("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir,
    env: childEnv({}),
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Runs a Node one-liner in a folder (CommonJS unless `module`) and parses the JSON it prints last. */
async function nodeEval(dir: string, code: string, module = false): Promise<Record<string, unknown>> {
  const args = module ? ["--input-type=module", "-e", code] : ["-e", code];
  const { stdout } = await exec(process.execPath, args, { cwd: dir, env: childEnv({ PFS_PACKED_STORE: JSON.stringify(storeSettings) }) });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

beforeAll(async () => {
  expect(existsSync(join(REPO_DIR, "dist", "docusaurus", "index.js")), "run `npm run build` first").toBe(true);
  root = await mkdtemp(join(tmpdir(), "pfs-packed-"));
  const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", root], { cwd: REPO_DIR, env: childEnv({}) });
  tarball = join(root, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);

  db = await createTestDatabase();
  storeSettings = { bookId: BOOK_ID, databaseUrl: db.url, objectsDir: join(root, "objects") };
  const store = await openStore({ databaseUrl: db.url, storage: { kind: "local", dir: storeSettings.objectsDir } });
  try {
    await seedBook(store, BOOK_ID);
  } finally {
    await store.close();
  }

  dirs["store-only"] = join(root, "store-only");
  await mkdir(dirs["store-only"]);
  for (const site of SITES) {
    dirs[site] = join(root, site);
    await cp(join(FIXTURES, site), dirs[site], { recursive: true });
  }
  // The three installs are mostly waiting on the cache and the disk: run them side by side.
  await Promise.all([
    install(dirs["store-only"], { "panaversity-fs": `file:${tarball}` }),
    ...SITES.map((site) => install(dirs[site], { ...SITE_DEPENDENCIES, "panaversity-fs": `file:${tarball}` })),
  ]);
}, 600_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  await db?.drop();
});

describe("the packed tarball", () => {
  it("installs without Docusaurus or React (optional peers); the store works under import and require; the CLI runs", async () => {
    const dir = dirs["store-only"];
    expect(existsSync(join(dir, "node_modules", "panaversity-fs", "dist", "index.js"))).toBe(true);
    expect(existsSync(join(dir, "node_modules", "@docusaurus"))).toBe(false);
    expect(existsSync(join(dir, "node_modules", "react"))).toBe(false);

    const read = `const s = JSON.parse(process.env.PFS_PACKED_STORE);
      const store = await openStore({ databaseUrl: s.databaseUrl, storage: { kind: "local", dir: s.objectsDir } });
      const r = await store.read({ bookId: s.bookId, path: "content/01-Basics/01-Start/01-hello.md" });
      await store.close();
      console.log(JSON.stringify({ hello: r.content.toString().includes("HELLO-BASE-TEXT") }));`;
    expect(await nodeEval(dir, `import { openStore } from "panaversity-fs"; ${read}`, true)).toEqual({ hello: true });
    expect(await nodeEval(dir, `const { openStore } = require("panaversity-fs"); (async () => { ${read} })();`)).toEqual({ hello: true });

    const { stdout } = await exec(join(dir, "node_modules", ".bin", "pfs"), ["--help"], { cwd: dir, env: childEnv({}) });
    expect(stdout).toContain("Usage: pfs");
  });

  it.each(SITES)("%s site: the plugin entry loads and validates options under Node ESM and require", async (site) => {
    // validateOptions runs Joi (utils-validation) and the docs plugin's own schema: the CommonJS packages really load.
    const validate = (p: string, v: string) =>
      `const opts = ${p}.validateOptions({ validate: ${v}.normalizePluginOptions, options: { bookId: "my-book" } });
       console.log(JSON.stringify({ plugin: typeof ${p}.default, syncBook: typeof ${p}.syncBook, concurrency: opts.concurrency, docsPath: opts.docs.path }));`;
    const expected = { plugin: "function", syncBook: "function", concurrency: 64, docsPath: ".panaversity-cache/docs" };
    const esm = await nodeEval(
      dirs[site],
      `const p = await import("panaversity-fs/docusaurus"); const v = (await import("@docusaurus/utils-validation")).default; ${validate("p", "v")}`,
      true,
    );
    expect(esm).toEqual(expected);
    const cjs = await nodeEval(dirs[site], `const p = require("panaversity-fs/docusaurus"); const v = require("@docusaurus/utils-validation"); ${validate("p", "v")}`);
    expect(cjs).toEqual(expected);
  });

  it.each(SITES)(
    "%s site: docusaurus build renders the book from the store with the site's remark plugin and MDX components",
    async (site) => {
      const dir = dirs[site];
      const outDir = join(dir, "build");
      await exec(process.execPath, [join(dir, "node_modules", "@docusaurus", "core", "bin", "docusaurus.mjs"), "build", "--out-dir", outDir, "--no-minify"], {
        cwd: dir,
        env: childEnv({ PFS_PACKED_STORE: JSON.stringify(storeSettings), NODE_ENV: "production" }),
        maxBuffer: 64 * 1024 * 1024,
      }).catch((err: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`docusaurus build of the ${site} site failed:\n${`${err.stdout}\n${err.stderr}`.slice(-6000)}`);
      });
      const stampMark = `STAMPED-BY-${site.toUpperCase()}-REMARK`;
      const hello = await html(outDir, "/docs/Basics/Start/hello");
      expect(hello).toContain("HELLO-BASE-TEXT");
      expect(hello).toContain(stampMark);
      const variables = await html(outDir, "/docs/Basics/Start/variables");
      expect(variables).toMatch(new RegExp(`<aside class="packed-callout" data-site="${site}">CALLOUT-COMPONENT-TEXT</aside>`));
      expect(variables).toContain(stampMark);
      // The plugin's cache sits in the site, as a user's would.
      expect(existsSync(join(dir, ".panaversity-cache", "report.json"))).toBe(true);
    },
    300_000,
  );
});
