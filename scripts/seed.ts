/** Writes a generated book into a store idempotently: unchanged files are skipped, changed ones updated with their expected hash. */
import { sha256Hex, type Store } from "../src/index.js";
import type { BookFile, SampleBook } from "./sample-book.js";

export interface SeedResult {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Files in the store that the generated book does not have (left alone unless `prune`). */
  extra: string[];
}

export interface SeedOptions {
  agentId: string;
  /** Delete base files and overlays the generated book does not have. */
  prune?: boolean;
  /** Parallel writes (PGlite queues them anyway; PostgreSQL benefits). */
  concurrency?: number;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

async function syncLayer(
  store: Store,
  bookId: string,
  files: BookFile[],
  userId: string | undefined,
  opts: SeedOptions,
  result: SeedResult,
): Promise<void> {
  const listed = await store.list({ bookId, userId });
  // With a user, list() merges the base in; only the user's own rows are their overlays.
  const current = new Map(listed.filter((e) => (userId === undefined ? true : e.userId === userId)).map((e) => [e.path, e.hash]));
  const wanted = new Set(files.map((f) => f.path));
  await inBatches(files, opts.concurrency ?? 8, async (file) => {
    const existing = current.get(file.path);
    if (existing === sha256Hex(file.content)) {
      result.unchanged++;
      return;
    }
    await store.write({ bookId, path: file.path, content: file.content, expectedHash: existing, userId, agentId: opts.agentId });
    if (existing === undefined) result.created++;
    else result.updated++;
  });
  for (const [path, hash] of current) {
    if (wanted.has(path)) continue;
    const label = userId ? `${path} (overlay of ${userId})` : path;
    if (!opts.prune) {
      result.extra.push(label);
      continue;
    }
    await store.delete({ bookId, path, userId, expectedHash: hash, agentId: opts.agentId });
    result.deleted++;
  }
}

export async function seedBook(store: Store, book: SampleBook, opts: SeedOptions): Promise<SeedResult> {
  const result: SeedResult = { created: 0, updated: 0, unchanged: 0, deleted: 0, extra: [] };
  await syncLayer(store, book.bookId, book.files, undefined, opts, result);
  const users = [...new Set(book.overlays.map((o) => o.userId))];
  for (const userId of users) {
    await syncLayer(store, book.bookId, book.overlays.filter((o) => o.userId === userId), userId, opts, result);
  }
  return result;
}
