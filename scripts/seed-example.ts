/**
 * Seeds the example site's book into the embedded store (PGlite journal + local object folder under
 * example-site/.panaversity by default). Safe to re-run: unchanged files are skipped, changed ones are
 * updated with their expected hash.
 *
 *   npx tsx scripts/seed-example.ts [--data-dir <dir>] [--prune]
 *
 * DATABASE_URL / PFS_S3_* in the environment are honoured (then the journal / objects live there instead).
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openStore } from "../src/index.js";
import { generateSampleBook, SAMPLE_USER } from "./sample-book.js";
import { seedBook } from "./seed.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const EXAMPLE_DATA_DIR = join(repo, "example-site", ".panaversity");

const { values } = parseArgs({
  options: {
    "data-dir": { type: "string" },
    prune: { type: "boolean", default: false },
  },
});

const dataDir = resolve(values["data-dir"] ?? process.env.PFS_DATA_DIR ?? EXAMPLE_DATA_DIR);
const book = generateSampleBook();
const started = Date.now();
const store = await openStore({ dataDir });
try {
  const r = await seedBook(store, book, { agentId: "example-seed-script", prune: values.prune });
  const s = book.stats;
  console.log(
    `Seeded book "${book.bookId}" into ${relative(process.cwd(), dataDir) || "."}: ` +
      `${s.parts} parts, ${s.chapters} chapters, ${s.lessons} lessons (${s.mdx} MDX), ${s.summaries} summaries, ` +
      `${s.intros} intros, ${s.assets} images, ${book.overlays.length} overlays for ${SAMPLE_USER} — ` +
      `${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged, ${r.deleted} deleted in ${Date.now() - started} ms.`,
  );
  if (r.extra.length) console.log(`${r.extra.length} files in the store are not in the sample book (left alone; --prune deletes them): ${r.extra.slice(0, 5).join(", ")}${r.extra.length > 5 ? ", …" : ""}`);
} finally {
  // The embedded journal is locked while open: close it before docusaurus opens it.
  await store.close();
}
