/**
 * The anchor step of verify: lists the anchors in storage, checks their signatures, and compares each
 * book's newest trusted anchors with its audit chain (anchors.ts compareChainWithAnchors). Books that
 * only exist in anchors are books deleted from the database.
 */
import { text } from "node:stream/consumers";
import { isPfsError } from "../errors/index.js";
import type { ChainEntry } from "../journal/audit-chain.js";
import type { StoreContext } from "./context.js";
import { ANCHORS_PREFIX, anchorKey, checkSignature, compareChainWithAnchors, parseAnchor, parseAnchorKey, type Anchor, type AnchorProblem } from "./anchors.js";

export interface AnchorReport {
  /** False when the store writes no anchors and none were found. */
  checked: boolean;
  signing: "hmac" | "none";
  /** Anchors read (newest first per book, until one matched). */
  read: number;
  /** Anchored books, with the newest anchored seq and the head's seq (head > anchored: not yet anchored). */
  books: { bookId: string; anchoredSeq: number; headSeq: number | null }[];
  /** Unsigned anchors among those read while a key is configured (written before signing was turned on, or planted). */
  unsigned: number;
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
  let body: string;
  try {
    body = await text(await ctx.blobs.storage.getStream(key));
  } catch (err) {
    if (isPfsError(err, "NOT_FOUND")) return "gone";
    throw err;
  }
  return parseAnchor(Buffer.from(body, "utf8"), { bookId, seq });
}

/**
 * `chainOf` loads one book's chain and head (verify has them for books it checks already; deleted
 * books are loaded on demand). Only the anchors needed are read: newest first until one matches.
 */
export async function checkAnchors(
  ctx: StoreContext,
  bookId: string | undefined,
  chainOf: (bookId: string) => Promise<BookChainState>,
): Promise<AnchorReport> {
  const keys = ctx.config.auditKey === null ? [] : [ctx.config.auditKey, ...ctx.config.auditKeysPrevious];
  const anchored = await listAnchors(ctx, bookId);
  const report: AnchorReport = {
    checked: ctx.config.anchors !== null || anchored.size > 0,
    signing: keys.length > 0 ? "hmac" : "none",
    read: 0,
    books: [],
    unsigned: 0,
    problems: [],
    writeErrors: (await ctx.metrics.anchorErrors.get()).values[0]?.value ?? 0,
  };
  for (const [book, seqs] of [...anchored].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const chain = await chainOf(book);
    const trusted: Anchor[] = [];
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
        if (sig === "bad-hmac" || sig === "unknown-key") {
          report.problems.push({
            kind: "forged-anchor",
            bookId: book,
            seq,
            message:
              sig === "bad-hmac"
                ? `anchor #${seq} of ${book} does not verify with audit key ${anchor.keyId}: it was forged or altered`
                : `anchor #${seq} of ${book} names audit key ${anchor.keyId}, which is neither the current key nor in PFS_AUDIT_KEYS_PREVIOUS`,
          });
          continue;
        }
        if (sig === "unsigned") report.unsigned++;
      }
      trusted.push(anchor);
      if (bySeq.get(seq) === anchor.entryHash) break; // the newest matching anchor vouches for everything before it
    }
    if (trusted[0]) report.books.push({ bookId: book, anchoredSeq: trusted[0].seq, headSeq: chain.head?.seq ?? null });
    const divergence = compareChainWithAnchors(book, trusted, chain.entries, chain.head);
    if (divergence) report.problems.push(divergence);
  }
  return report;
}
