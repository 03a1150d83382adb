/**
 * Writes anchors after commits: per book at most one per interval, and after the last commit of a
 * burst the newest head is always anchored (a trailing timer). A failed anchor never fails the write
 * that caused it: it is counted and retried at the next flush (the next commit of the book, or close).
 */
import { getBookHead } from "../journal/queries.js";
import { manifestHashOfJournal } from "../journal/manifest-queries.js";
import { BOOK_ID_PATTERN } from "../paths/index.js";
import type { StoreContext } from "./context.js";
import { ANCHOR_FORMAT, ANCHORS_PREFIX, anchorKey, makeAnchor, parseAnchor, parseAnchorKey } from "./anchors.js";
import { ensureIndexed, readHeadState, readText, writeHeadRecord } from "./anchor-marks.js";

interface BookState {
  lastWrite: number;
  timer: NodeJS.Timeout | null;
  /** A commit happened that no anchor covers yet. */
  dirty: boolean;
  running: Promise<void> | null;
}

export class AnchorWriter {
  private readonly books = new Map<string, BookState>();
  private closed = false;

  constructor(
    private readonly ctx: StoreContext,
    private readonly intervalMs: number,
  ) {}

  /** A commit changed the book's chain (any audited attempt, successful or not). */
  touch(bookId: string): void {
    if (this.closed || !BOOK_ID_PATTERN.test(bookId)) return;
    let s = this.books.get(bookId);
    if (!s) this.books.set(bookId, (s = { lastWrite: -Infinity, timer: null, dirty: false, running: null }));
    s.dirty = true;
    if (s.timer) return; // the pending timer anchors the newest head when it fires
    const delay = Math.max(0, s.lastWrite + this.intervalMs - Date.now());
    s.timer = setTimeout(() => {
      s.timer = null;
      void this.run(bookId, s);
    }, delay);
    s.timer.unref(); // a process that exits without close() loses at most this interval (documented)
  }

  private run(bookId: string, s: BookState): Promise<void> {
    // One anchor write per book at a time; a commit during it re-arms the timer through touch().
    const previous = s.running ?? Promise.resolve();
    const next = previous.then(() => this.anchorNow(bookId, s));
    s.running = next.finally(() => {
      if (s.running === next) s.running = null;
    });
    return next;
  }

  private async anchorNow(bookId: string, s: BookState): Promise<void> {
    if (!s.dirty) return;
    s.dirty = false;
    s.lastWrite = Date.now();
    try {
      await writeAnchor(this.ctx, bookId);
      this.ctx.metrics.anchorWrites.inc();
    } catch {
      s.dirty = true; // retried at the next flush; verify reports the unanchored tail
      this.ctx.metrics.anchorErrors.inc();
    }
  }

  /** Anchors every book with unanchored commits now, ignoring the interval. */
  async flush(): Promise<void> {
    const runs: Promise<void>[] = [];
    for (const [bookId, s] of this.books) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
      runs.push(this.run(bookId, s));
    }
    await Promise.all(runs);
  }

  /** Waits for the anchor writes in flight (not the pending timers) to end. */
  async settle(): Promise<void> {
    await Promise.all([...this.books.values()].map((s) => s.running?.catch(() => {})));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}

/** The newest listed anchor below `seq` (used when the head record cannot say). */
async function newestListedBelow(ctx: StoreContext, bookId: string, seq: number): Promise<number | null> {
  let best: number | null = null;
  for await (const info of ctx.blobs.storage.list(`${ANCHORS_PREFIX}${bookId}/`)) {
    const parsed = parseAnchorKey(info.key);
    if (parsed && parsed.seq < seq && (best === null || parsed.seq > best)) best = parsed.seq;
  }
  return best;
}

/** True when the anchor at `seq` was written with a head record (v2): then a missing record was deleted. */
async function isV2Anchor(ctx: StoreContext, bookId: string, seq: number | null): Promise<boolean> {
  if (seq === null) return false;
  const raw = await readText(ctx, anchorKey(bookId, seq));
  return raw !== null && parseAnchor(Buffer.from(raw, "utf8"), { bookId, seq })?.format === ANCHOR_FORMAT;
}

/**
 * Reads the head and the manifest in one snapshot (consistent seq, entry_hash, manifest) and writes
 * its anchor, linked to the previous one. Order matters for verify: the book index names the book
 * before its first anchor exists, and the head record moves forward only after the anchor is stored.
 * A head record that was tampered with (untrusted, or deleted while v2 anchors exist) is never
 * rewritten: that would launder the evidence verify reports.
 */
async function writeAnchor(ctx: StoreContext, bookId: string): Promise<boolean> {
  const state = await ctx.journal.db.transaction(
    async (tx) => {
      const head = await getBookHead(tx, bookId);
      if (!head || head.seq === 0 || head.lastEntryHash === null) return null;
      return { bookId, seq: head.seq, entryHash: head.lastEntryHash, manifestHash: await manifestHashOfJournal(tx, bookId) };
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
  if (!state) return false;
  const head = await readHeadState(ctx, bookId);
  if (head.status === "trusted" && head.record.seq === state.seq) return false; // anchored already (by this or another process)
  await ensureIndexed(ctx, bookId);
  const prevSeq = head.status === "trusted" && head.record.seq < state.seq ? head.record.seq : await newestListedBelow(ctx, bookId, state.seq);
  const anchor = makeAnchor({ ...state, prevSeq }, new Date(), ctx.config.auditKey);
  // Never overwritten: an existing anchor of this seq (another process anchored it) is kept.
  const wrote = await ctx.blobs.storage.putIfAbsent(anchorKey(bookId, state.seq), Buffer.from(`${JSON.stringify(anchor, null, 2)}\n`));
  const moveHead = head.status === "trusted" ? head.record.seq < state.seq : head.status === "absent" && !(await isV2Anchor(ctx, bookId, prevSeq));
  if (moveHead) await writeHeadRecord(ctx, state);
  return wrote;
}
