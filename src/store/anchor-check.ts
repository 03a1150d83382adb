/**
 * The anchor step of verify: lists the anchors in storage, checks their signatures, and compares each
 * book's newest trusted anchors with its audit chain (anchors.ts compareChainWithAnchors). Books that
 * only exist in anchors are books deleted from the database.
 */
import type { ChainEntry } from "../journal/audit-chain.js";
import type { StoreContext } from "./context.js";
import { ANCHOR_FORMAT, ANCHORS_PREFIX, anchorKey, checkSignature, compareChainWithAnchors, parseAnchor, parseAnchorKey, type Anchor, type AnchorProblem, type SignatureCheck } from "./anchors.js";
import { BOOK_INDEX_KEY, auditKeys, checkBookIndex, checkHeadRecord, headRecordKey, parseBookIndex, parseHeadRecord, readText, trusted, type BookIndex, type HeadRecord } from "./anchor-marks.js";
import { findAnchorGap } from "./anchor-gaps.js";

export interface AnchorReport {
  /** False when the store writes no anchors and none were found. */
  checked: boolean;
  signing: "hmac" | "none";
  /** Anchors read (newest first per book, until one matched). */
  read: number;
  /**
   * Books with anchors or audit entries: the newest trusted anchored seq (0: none), the head's seq, and
   * `unanchored` = audit entries after the last anchor (the unprotected tail: nothing outside the
   * database vouches for them yet).
   */
  books: { bookId: string; anchoredSeq: number; headSeq: number | null; unanchored: number }[];
  /** Unsigned anchors, head records or book index among those read while a key is configured (each also a forged-anchor problem). */
  unsigned: number;
  /** Sum of `unanchored` over the books: audit entries no anchor protects. */
  unprotectedEntries: number;
  /** First divergence per book, plus every forged or malformed anchor met on the way. */
  problems: AnchorProblem[];
  /** Anchor writes that failed in this process (retried at the next flush). */
  writeErrors: number;
}

export interface BookChainState {
  entries: ChainEntry[];
  head: { seq: number; lastEntryHash: string | null } | null;
}

/** All anchor keys under the store, grouped by book, newest first. */
async function listAnchors(ctx: StoreContext, bookId?: string): Promise<Map<string, number[]>> {
  const byBook = new Map<string, number[]>();
  for await (const info of ctx.blobs.storage.list(bookId === undefined ? ANCHORS_PREFIX : `${ANCHORS_PREFIX}${bookId}/`)) {
    const parsed = parseAnchorKey(info.key);
    if (!parsed) continue;
    byBook.set(parsed.bookId, [...(byBook.get(parsed.bookId) ?? []), parsed.seq]);
  }
  for (const seqs of byBook.values()) seqs.sort((a, b) => b - a);
  return byBook;
}

/** null: not a valid anchor of that key; "gone": removed since the listing. */
async function readAnchor(ctx: StoreContext, bookId: string, seq: number, key: string): Promise<Anchor | null | "gone"> {
  const body = await readText(ctx, key);
  return body === null ? "gone" : parseAnchor(Buffer.from(body, "utf8"), { bookId, seq });
}

/** A book without any anchor is a finding (with a key) once its oldest entry is older than this. */
function noAnchorGraceMs(intervalMs: number): number {
  return Math.max(5 * 60_000, 10 * intervalMs);
}

interface BookWalk {
  trusted: Anchor[];
  /** v2 anchors read, whose `prevSeq` must still be listed. */
  links: { seq: number; prevSeq: number }[];
  sawV2: boolean;
}

/** Reads one book's anchors newest first until one matches its chain; signature problems go to the report. */
async function walkAnchors(ctx: StoreContext, book: string, seqs: number[], chain: BookChainState, keys: string[], report: AnchorReport): Promise<BookWalk> {
  const walk: BookWalk = { trusted: [], links: [], sawV2: false };
  const bySeq = new Map(chain.entries.map((e) => [e.bookSeq, e.entryHash]));
  for (const seq of seqs) {
    const key = anchorKey(book, seq);
    const anchor = await readAnchor(ctx, book, seq, key);
    if (anchor === "gone") continue;
    report.read++;
    if (!anchor) {
      report.problems.push({ kind: "malformed-anchor", bookId: book, seq, message: `${key} is not a valid anchor of book ${book} entry #${seq}` });
      continue;
    }
    if (keys.length > 0) {
      const sig = checkSignature(anchor, keys);
      if (sig !== "valid") {
        if (sig === "unsigned") report.unsigned++;
        report.problems.push({ kind: "forged-anchor", bookId: book, seq, message: forgedMessage(sig, `anchor #${seq} of ${book}`, anchor.keyId) });
        continue;
      }
    }
    walk.trusted.push(anchor);
    if (anchor.format === ANCHOR_FORMAT) walk.sawV2 = true;
    if (typeof anchor.prevSeq === "number") walk.links.push({ seq, prevSeq: anchor.prevSeq });
    if (bySeq.get(seq) === anchor.entryHash) break; // the newest matching anchor vouches for everything before it
  }
  return walk;
}

function forgedMessage(sig: SignatureCheck, what: string, keyId: string | null): string {
  if (sig === "unsigned") return `${what} is not signed although an audit key is configured: it was planted (or written before signing was turned on)`;
  if (sig === "bad-hmac") return `${what} does not verify with audit key ${keyId}: it was forged or altered`;
  return `${what} names audit key ${keyId}, which is neither the current key nor in PFS_AUDIT_KEYS_PREVIOUS`;
}

/**
 * `chainOf` loads one book's chain and head; `dbBooks` are the books the database knows (verify's
 * scope). Only the anchors needed are read: newest first until one matches, plus each book's head
 * record and the store-wide book index (anchor-marks.ts).
 */
export async function checkAnchors(
  ctx: StoreContext,
  bookId: string | undefined,
  chainOf: (bookId: string) => Promise<BookChainState>,
  dbBooks: string[] = [],
): Promise<AnchorReport> {
  const first = await checkAnchorsOnce(ctx, bookId, chainOf, dbBooks);
  if (!first.problems.some((p) => p.kind === "missing-anchors")) return first;
  // A writer (this process or another) names a new book in the index, then stores its anchor, then moves the
  // head record: a verify that lists between those steps sees a gap that closes milliseconds later. A real
  // deletion is still there when we look again.
  await new Promise((resolve) => setTimeout(resolve, MISSING_RECHECK_MS));
  return checkAnchorsOnce(ctx, bookId, chainOf, dbBooks);
}

/** How long verify waits before it looks again at a gap in the anchors (an anchor write in flight closes it). */
export const MISSING_RECHECK_MS = 1500;

async function checkAnchorsOnce(
  ctx: StoreContext,
  bookId: string | undefined,
  chainOf: (bookId: string) => Promise<BookChainState>,
  dbBooks: string[],
): Promise<AnchorReport> {
  const keys = auditKeys(ctx);
  const anchored = await listAnchors(ctx, bookId);
  const report: AnchorReport = {
    checked: ctx.config.anchors !== null || anchored.size > 0,
    signing: keys.length > 0 ? "hmac" : "none",
    read: 0,
    books: [],
    unsigned: 0,
    unprotectedEntries: 0,
    problems: [],
    writeErrors: (await ctx.metrics.anchorErrors.get()).values[0]?.value ?? 0,
  };
  const index = await readIndex(ctx, keys, report);
  const indexed = index === "absent" || index === null ? [] : index.books;
  const inScope = (b: string) => bookId === undefined || b === bookId;
  const books = new Set([...anchored.keys(), ...indexed.filter(inScope), ...dbBooks.filter(inScope)]);
  let sawV2 = false;
  for (const book of [...books].sort()) {
    const seqs = anchored.get(book) ?? [];
    const chain = await chainOf(book);
    const walk = await walkAnchors(ctx, book, seqs, chain, keys, report);
    sawV2 ||= walk.sawV2;
    const record = await readHead(ctx, book, keys, report);
    const headSeq = chain.head?.seq ?? chain.entries.at(-1)?.bookSeq ?? null;
    const anchoredSeq = walk.trusted[0]?.seq ?? 0;
    const unanchored = Math.max(0, (headSeq ?? 0) - anchoredSeq);
    report.unprotectedEntries += unanchored;
    if (walk.trusted[0] || unanchored > 0) report.books.push({ bookId: book, anchoredSeq, headSeq, unanchored });
    const divergence = compareChainWithAnchors(book, walk.trusted, chain.entries, chain.head);
    if (divergence) report.problems.push(divergence);
    const gap = findAnchorGap({
      bookId: book,
      listed: seqs,
      links: walk.links,
      sawV2: walk.sawV2,
      record: record === "absent" ? null : record,
      recordAbsent: record === "absent",
      inIndex: indexed.includes(book),
      chain,
      keyed: keys.length > 0 && ctx.config.anchors !== null,
      graceMs: noAnchorGraceMs(ctx.config.anchors?.intervalMs ?? 1000),
      now: Date.now(),
    });
    if (gap && !divergence) report.problems.push(gap);
  }
  if (index === "absent" && sawV2 && bookId === undefined) {
    report.problems.push({ kind: "missing-anchors", bookId: "*", seq: 0, message: `the signed book index ${BOOK_INDEX_KEY} is gone although anchors written with it exist: books deleted together with their anchors would go unseen` });
  }
  return report;
}

async function readIndex(ctx: StoreContext, keys: string[], report: AnchorReport): Promise<BookIndex | "absent" | null> {
  const raw = await readText(ctx, BOOK_INDEX_KEY);
  if (raw === null) return "absent";
  const index = parseBookIndex(raw);
  if (!index) {
    report.problems.push({ kind: "malformed-anchor", bookId: "*", seq: 0, message: `${BOOK_INDEX_KEY} is not a valid book index` });
    return null;
  }
  const sig = checkBookIndex(index, keys);
  if (trusted(sig, keys)) return index;
  if (sig === "unsigned") report.unsigned++;
  report.problems.push({ kind: "forged-anchor", bookId: "*", seq: 0, message: forgedMessage(sig, `the book index ${BOOK_INDEX_KEY}`, index.keyId) });
  return null;
}

async function readHead(ctx: StoreContext, book: string, keys: string[], report: AnchorReport): Promise<HeadRecord | "absent" | null> {
  const key = headRecordKey(book);
  const raw = await readText(ctx, key);
  if (raw === null) return "absent";
  const record = parseHeadRecord(raw, book);
  if (!record) {
    report.problems.push({ kind: "malformed-anchor", bookId: book, seq: 0, message: `${key} is not a valid head record of book ${book}` });
    return null;
  }
  const sig = checkHeadRecord(record, keys);
  if (trusted(sig, keys)) return record;
  if (sig === "unsigned") report.unsigned++;
  report.problems.push({ kind: "forged-anchor", bookId: book, seq: record.seq, message: forgedMessage(sig, `the head record of ${book}`, record.keyId) });
  return null;
}
