/**
 * Plan benchmark (issue 4, DESIGN 4.4): plan time with 3 changes on books of 1,000 / 5,000 / 20,000 files
 * in one embedded store (PGlite + local folder). For each book: snapshot (the build cache's manifest),
 * then create + update + delete one file each, then
 *   - cold plan: the first planBuild from that manifest (also computes the new manifest hash in SQL),
 *   - warm plan: planBuild again (the new manifest is remembered), median of 15,
 *   - full snapshot: what a build without plans reads (the O(book) baseline), median of 5.
 * Prints the times and the 20k/1k ratios; the goal is a flat warm plan (ratio near 1).
 *
 *   npx tsx bench/plan.ts [--sizes 1000,5000,20000] [--seed sql|api] [--json]
 *   PFS_BENCH_SCALE=0.05 npx tsx bench/plan.ts          # quick smoke run (50 / 250 / 1,000 files)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { openStore, sha256Hex, type Store } from "../src/index.js";
import { fileJournal } from "../src/journal/schema.js";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,5000,20000" },
    seed: { type: "string", default: "sql" },
    json: { type: "boolean", default: false },
  },
});
const scale = Number(process.env.PFS_BENCH_SCALE ?? "1");
const sizes = args.sizes.split(",").map((s) => Math.max(10, Math.round(Number(s) * scale)));
const AGENT = "bench";

function pathOf(i: number): string {
  const part = String(Math.floor(i / 2000) + 1).padStart(2, "0");
  const chapter = String((Math.floor(i / 50) % 40) + 1).padStart(2, "0");
  const lesson = String((i % 50) + 1).padStart(2, "0");
  return `content/${part}-part/${chapter}-chapter/${lesson}-lesson.md`;
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t = performance.now();
  const result = await fn();
  return { ms: performance.now() - t, result };
}

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await time(fn)).ms);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * "api" writes every file through the store (slow on a busy machine: minutes for 20k); "sql" bulk-inserts
 * the journal rows only: a plan reads no objects and only the log after its target, so it needs neither.
 */
async function seed(store: Store, bookId: string, files: number, how: string): Promise<void> {
  if (how === "api") {
    const limit = pLimit(8);
    await Promise.all(
      Array.from({ length: files }, (_, i) => limit(() => store.write({ bookId, path: pathOf(i), content: `# Lesson ${i} of ${bookId}\n`, agentId: AGENT }))),
    );
    return;
  }
  const rows = Array.from({ length: files }, (_, i) => ({ bookId, path: pathOf(i), sha256: sha256Hex(`# Lesson ${i} of ${bookId}\n`), size: 20, writtenBy: AGENT }));
  for (let i = 0; i < rows.length; i += 1000) await store.ctx.journal.db.insert(fileJournal).values(rows.slice(i, i + 1000));
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "pfs-bench-plan-"));
  const store = await openStore({ dataDir: dir, storage: { kind: "local", dir: join(dir, "objects") } });
  const rows = [];
  try {
    for (const files of sizes) {
      const bookId = `plan-bench-${files}`;
      const s = performance.now();
      await seed(store, bookId, files, args.seed);
      const seedS = (performance.now() - s) / 1000;
      const target = (await store.snapshot({ bookId })).manifestHash;
      // Three changes: a create, an update, a delete.
      await store.write({ bookId, path: "content/zz-new-page.md", content: "new\n", agentId: AGENT });
      const [current] = await store.list({ bookId, prefix: pathOf(1) });
      await store.write({ bookId, path: pathOf(1), content: "changed\n", expectedHash: current!.hash, agentId: AGENT });
      await store.delete({ bookId, path: pathOf(2), agentId: AGENT });

      const cold = await time(() => store.planBuild({ bookId, targetManifestHash: target }));
      if (cold.result.files.length !== 3) throw new Error(`expected 3 changes, got ${cold.result.files.length}`);
      const warm = await median(15, () => store.planBuild({ bookId, targetManifestHash: target }));
      const snapshot = await median(5, () => store.snapshot({ bookId }));
      rows.push({ files, seedS: +seedS.toFixed(1), coldPlanMs: +cold.ms.toFixed(1), warmPlanMs: +warm.toFixed(2), fullSnapshotMs: +snapshot.toFixed(1) });
      if (!args.json) console.error(`done: ${files} files`);
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const ratios = {
    sizes: `${last.files}/${first.files}`,
    warmPlan: +(last.warmPlanMs / first.warmPlanMs).toFixed(2),
    coldPlan: +(last.coldPlanMs / first.coldPlanMs).toFixed(2),
    fullSnapshot: +(last.fullSnapshotMs / first.fullSnapshotMs).toFixed(2),
  };
  if (args.json) {
    console.log(JSON.stringify({ rows, ratios }, null, 2));
    return;
  }
  console.log(`seeded by ${args.seed === "api" ? "store.write" : "bulk SQL insert of journal rows"}`);
  console.table(rows);
  console.log(
    `ratio ${ratios.sizes}: warm plan ${ratios.warmPlan}x, cold plan ${ratios.coldPlan}x, full snapshot ${ratios.fullSnapshot}x ` +
      `(book size ratio ${(last.files / first.files).toFixed(0)}x)`,
  );
}

await main();
