/**
 * "Does this book reference object X?" for many concurrent object requests at once. A cold build asks
 * it once per object (thousands of requests, 64 at a time); one journal query each held a pooled
 * connection per object and cost more CPU than serving the bytes (docs/RELIABILITY.md, issue 15).
 * Here the questions about one book (and one set of overlay users) that arrive while its previous
 * query runs wait for it and are then answered together by one query.
 *
 * Nothing is cached: every answer comes from a query that started after the question was asked, so
 * an object that a commit stopped referencing is refused to every request that arrives after the commit.
 */
import { objectSizesInBook } from "../journal/book-queries.js";
import { inJournal, type StoreContext } from "./context.js";

/** At most this many hashes per query (bounded parameters and rows). */
export const MAX_BATCH = 500;

interface Waiter {
  resolve(size: number | null): void;
  reject(err: unknown): void;
}

interface Batch {
  bookId: string;
  users: "*" | readonly string[];
  waiters: Map<string, Waiter[]>;
}

/** One batcher per store: the batches waiting for their turn and the keys with a query running. */
interface Batcher {
  queued: Map<string, Batch[]>;
  running: Set<string>;
}

const batchers = new WeakMap<StoreContext, Batcher>();

function batcherOf(ctx: StoreContext): Batcher {
  let b = batchers.get(ctx);
  if (!b) batchers.set(ctx, (b = { queued: new Map(), running: new Set() }));
  return b;
}

/** Pure: the key under which questions share a query (the book and whose overlays count). */
export function refKey(bookId: string, users: "*" | readonly string[]): string {
  return `${bookId}\u0000${users === "*" ? "*" : [...new Set(users)].sort().join(",")}`;
}

/** Runs the next batch of `key`, if any, then the one after it; one query per key at a time. */
function runNext(ctx: StoreContext, b: Batcher, key: string): void {
  const queue = b.queued.get(key);
  const batch = queue?.shift();
  if (!batch) {
    b.running.delete(key);
    b.queued.delete(key);
    return;
  }
  b.running.add(key);
  const hashes = [...batch.waiters.keys()];
  inJournal(ctx, () => objectSizesInBook(ctx.journal.db, batch.bookId, hashes, batch.users)).then(
    (sizes) => {
      for (const [hash, waiters] of batch.waiters) for (const w of waiters) w.resolve(sizes.get(hash) ?? null);
    },
    (err: unknown) => {
      for (const waiters of batch.waiters.values()) for (const w of waiters) w.reject(err);
    },
  ).finally(() => runNext(ctx, b, key));
}

/**
 * The size of object `hash` when book `bookId` references it from its base or from an overlay of one of
 * `users` ("*": anyone's); null otherwise. Arguments are validated by the caller.
 */
export function referencedSize(ctx: StoreContext, bookId: string, users: "*" | readonly string[], hash: string): Promise<number | null> {
  const b = batcherOf(ctx);
  const key = refKey(bookId, users);
  let queue = b.queued.get(key);
  if (!queue) b.queued.set(key, (queue = []));
  let batch = queue.at(-1);
  if (!batch || batch.waiters.size >= MAX_BATCH) queue.push((batch = { bookId, users, waiters: new Map() }));
  const target = batch;
  const answer = new Promise<number | null>((resolve, reject) => {
    const list = target.waiters.get(hash);
    if (list) list.push({ resolve, reject });
    else target.waiters.set(hash, [{ resolve, reject }]);
  });
  if (!b.running.has(key)) {
    // Mark it running now and start on the next turn, so the requests read in this turn share the query.
    b.running.add(key);
    setImmediate(() => runNext(ctx, b, key));
  }
  return answer;
}
