/**
 * Overlay-scale benchmark (issue 11, DESIGN 4.5 "Overlays into routes"): what a class of overlay users costs a
 * real `docusaurus build`. One generated book (default 5 parts × 10 chapters × 21 lessons: 1,106 pages), 50
 * users × 3 overlays each, in an embedded store; two whole builds of the same site in one run, each with a
 * cold plugin cache and no webpack persistent cache:
 *   (a) no overlay users, (b) overlayUsers = all 50.
 * Prints pages rendered (HTML files written) and wall time of each, and the ratios (targets: pages ≤ book +
 * users × overlays, wall time ≤ 1.3×).
 *
 * With --repeat n the two builds alternate n times (a b a b …) and the median wall time of each is reported
 * (the first build of a run also warms the OS file cache; alternating spreads that and the machine's noise).
 *
 *   npx tsx bench/overlay-scale.ts [--parts 5] [--chapters 10] [--lessons 21] [--users 50] [--overlays 3] [--repeat 1] [--json]
 *   npm run bench:overlay-scale -- --lessons 2     # a quick, small run
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../src/index.js";
import { generateSyntheticBook, type SampleBook } from "../scripts/sample-book.js";
import { seedBook } from "../scripts/seed.js";
import { build, listFiles, makeSite } from "../test/fixtures/docusaurus/harness.js";

const { values: args } = parseArgs({
  options: {
    parts: { type: "string", default: "5" },
    chapters: { type: "string", default: "10" },
    lessons: { type: "string", default: "21" },
    users: { type: "string", default: "50" },
    overlays: { type: "string", default: "3" },
    repeat: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
  },
});
const USERS = Number(args.users);
const OVERLAYS = Number(args.overlays);
const BOOK = "overlay-scale";

/** Each user rewrites `OVERLAYS` lessons spread over the book (deterministic, different for each user). */
function addOverlays(book: SampleBook): string[] {
  const lessons = book.files.filter((f) => /\/\d\d-[^/]+\.md$/.test(f.path) && !f.path.endsWith(".summary.md"));
  const users = Array.from({ length: USERS }, (_, i) => `student-${String(i + 1).padStart(3, "0")}`);
  users.forEach((userId, i) => {
    const picked = new Set<number>();
    for (let k = 0; picked.size < Math.min(OVERLAYS, lessons.length); k++) picked.add((i * 37 + k * 101) % lessons.length);
    for (const n of picked) {
      const file = lessons[n]!;
      book.overlays.push({ userId, path: file.path, content: Buffer.from(`${file.content.toString("utf8")}\n\nPersonalized for ${userId}.\n`) });
    }
  });
  return users;
}

async function main(): Promise<void> {
  const book = generateSyntheticBook({ parts: Number(args.parts), chaptersPerPart: Number(args.chapters), lessonsPerChapter: Number(args.lessons), bookId: BOOK });
  const users = addOverlays(book);
  const bookPages = book.files.filter((f) => f.path.startsWith("content/") && /\.mdx?$/.test(f.path) && !/\.summary\.mdx?$/.test(f.path)).length;
  const tmp = await mkdtemp(join(tmpdir(), "pfs-overlay-scale-"));
  const dataDir = join(tmp, "store");
  await mkdir(dataDir, { recursive: true });
  const storage = { kind: "local" as const, dir: join(dataDir, "objects") };
  const store = await openStore({ dataDir, storage });
  try {
    await seedBook(store, book, { agentId: "bench-overlay-scale" });
  } finally {
    await store.close(); // the embedded journal allows one process at a time: the builds open it
  }
  // Same work for both builds: cold plugin caches, no webpack persistent cache.
  process.env.DOCUSAURUS_NO_PERSISTENT_CACHE = "1";
  const site = await makeSite();
  try {
    const base = { bookId: BOOK, dataDir, storage };
    const configs = [
      { name: "no overlay users", options: { ...base, cacheDir: "cache-base" } },
      { name: `${users.length} overlay users`, options: { ...base, cacheDir: "cache-users", overlayUsers: users } },
    ];
    const times: number[][] = configs.map(() => []);
    const counts: { pages: number; userPages: number }[] = [];
    for (let round = 0; round < Number(args.repeat); round++) {
      for (const [i, config] of configs.entries()) {
        await rm(join(site.siteDir, config.options.cacheDir), { recursive: true, force: true }); // cold plugin cache each time
        const b = await build(site.siteDir, config.options, `build-${i}`);
        const html = (await listFiles(b.outDir)).filter((f) => f.endsWith(".html"));
        counts[i] = { pages: html.length, userPages: html.filter((f) => f.startsWith("docs/u/")).length };
        times[i]!.push(b.ms);
        await rm(b.outDir, { recursive: true, force: true });
      }
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((x, y) => x - y);
      const m = Math.floor(s.length / 2);
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    };
    const runs = configs.map((c, i) => ({ name: c.name, ...counts[i]!, ms: median(times[i]!), allMs: times[i]! }));
    const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
    const result = {
      bookPages,
      users: users.length,
      overlaysPerUser: OVERLAYS,
      runs,
      extraPages: b.pages - a.pages,
      pagesTarget: a.pages + users.length * OVERLAYS,
      wallRatio: Number((b.ms / a.ms).toFixed(3)),
    };
    if (args.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    console.log(`book: ${bookPages} pages; ${users.length} users × ${OVERLAYS} overlays`);
    for (const r of runs) console.log(`  ${r.name.padEnd(20)} ${String(r.pages).padStart(6)} HTML files (${r.userPages} under docs/u/)  ${(r.ms / 1000).toFixed(1)} s (runs: ${r.allMs.map((m) => (m / 1000).toFixed(1)).join(", ")} s)`);
    console.log(`  extra pages: ${result.extraPages} (target ≤ ${users.length * OVERLAYS}); wall time ratio: ${result.wallRatio}× (target ≤ 1.3×)`);
  } finally {
    await site.cleanup();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
