/**
 * Read verification cost (issue 9): reading through the store (size + SHA-256 checked against the journal)
 * versus the pre-check read (the same journal lookup, then the object's bytes unchecked), in one run, on an embedded store
 * (PGlite + local folder). Two shapes: many small markdown files (checked before the first byte) and one
 * large asset (checked while streaming). Prints the median of --repeat runs and the ratio checked / raw.
 *
 *   npx tsx bench/read-verify.ts [--files 300] [--asset-mb 64] [--repeat 5]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Readable } from "node:stream";
import { openStore } from "../src/index.js";
import { getFile } from "../src/journal/queries.js";
import { BASE_USER } from "../src/paths/index.js";

const { values: args } = parseArgs({
  options: { files: { type: "string", default: "300" }, "asset-mb": { type: "string", default: "64" }, repeat: { type: "string", default: "5" } },
});
const FILES = Number(args.files);
const ASSET = Number(args["asset-mb"]) * 1024 * 1024;
const REPEAT = Number(args.repeat);
const BOOK = "bench-book";

async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += (chunk as Buffer).length;
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const dir = await mkdtemp(join(tmpdir(), "pfs-bench-read-"));
const store = await openStore({ dataDir: dir, storage: { kind: "local", dir: join(dir, "objects") } });
try {
  const paths: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const path = `content/01-part/${10 + Math.floor(i / 50)}-chapter/${10 + (i % 50)}-lesson.md`;
    await store.write({ bookId: BOOK, path, content: `# Lesson ${i}\n\n${"Some prose about Python. ".repeat(200)}\n`, agentId: "bench" });
    paths.push(path);
  }
  const big = Buffer.alloc(ASSET);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  await store.write({ bookId: BOOK, path: "static/videos/lecture.bin", content: big, agentId: "bench" });
  /** The read as it was before verification: journal row, then the object's bytes as they come. */
  const unchecked = async (path: string) => {
    const row = await getFile(store.ctx.journal.db, { bookId: BOOK, path, userId: BASE_USER });
    return drain(await store.ctx.blobs.get(row!.sha256));
  };

  const shapes = {
    [`${FILES} markdown files`]: {
      checked: async () => {
        for (const path of paths) await drain((await store.readStream({ bookId: BOOK, path })).stream);
      },
      raw: async () => {
        for (const path of paths) await unchecked(path);
      },
    },
    [`one ${args["asset-mb"]} MB asset`]: {
      checked: async () => void (await drain((await store.readStream({ bookId: BOOK, path: "static/videos/lecture.bin" })).stream)),
      raw: async () => void (await unchecked("static/videos/lecture.bin")),
    },
  };
  for (const [name, { checked, raw }] of Object.entries(shapes)) {
    await raw();
    await checked(); // warm up both
    const t = { checked: [] as number[], raw: [] as number[] };
    for (let i = 0; i < REPEAT; i++) {
      t.raw.push(await time(raw));
      t.checked.push(await time(checked));
    }
    const [c, r] = [median(t.checked), median(t.raw)];
    console.log(`${name}: checked ${c.toFixed(1)} ms, raw ${r.toFixed(1)} ms, ratio ${(c / r).toFixed(2)} (median of ${REPEAT})`);
  }
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
