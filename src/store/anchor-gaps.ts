/**
 * Pure: the `missing-anchors` finding of one book — anchors that existed (or should exist) but are
 * gone. Evidence, strongest first: the signed head record names an anchor that is not listed; a signed
 * `prevSeq` link points at an anchor that is not listed; the signed book index names the book but no
 * anchor of it is left; v2 anchors exist but the head record is gone; and (with a key, anchors on) a
 * book whose audit entries are older than the grace period has no anchor at all.
 */
import type { AnchorProblem } from "./anchors.js";
import type { HeadRecord } from "./anchor-marks.js";
import type { BookChainState } from "./anchor-check.js";

export interface GapInput {
  bookId: string;
  /** Anchor seqs listed in storage (any order). */
  listed: number[];
  /** Signed links of the trusted v2 anchors read. */
  links: { seq: number; prevSeq: number }[];
  sawV2: boolean;
  /** The trusted head record; null when absent or untrusted (then `recordAbsent` says which). */
  record: HeadRecord | null;
  recordAbsent: boolean;
  inIndex: boolean;
  chain: BookChainState;
  /** A key is configured and anchors are on: every book must be anchored. */
  keyed: boolean;
  graceMs: number;
  now: number;
}

export function findAnchorGap(g: GapInput): AnchorProblem | null {
  const listed = new Set(g.listed);
  const problem = (seq: number, message: string): AnchorProblem => ({ kind: "missing-anchors", bookId: g.bookId, seq, message });
  const entries = g.chain.entries.length;
  if (g.record && !listed.has(g.record.seq)) {
    const left = g.listed.length === 0 ? "no anchor of the book is left" : `the newest anchor left is #${Math.max(...g.listed)}`;
    return problem(g.record.seq, `the signed head record of ${g.bookId} names anchor #${g.record.seq} (written ${g.record.at}), but it is gone and ${left}: the newest anchors were deleted`);
  }
  const broken = g.links.find((l) => !listed.has(l.prevSeq));
  if (broken) return problem(broken.prevSeq, `anchor #${broken.seq} of ${g.bookId} follows anchor #${broken.prevSeq}, which is gone: anchors were deleted`);
  if (g.listed.length === 0 && g.inIndex) {
    const what = entries === 0 && g.chain.head === null ? "the book was deleted together with all its anchors" : "its anchors were deleted";
    return problem(0, `the signed book index names ${g.bookId}, but no anchor of it is left: ${what}`);
  }
  if (g.sawV2 && g.recordAbsent) return problem(0, `the head record of ${g.bookId} is gone although its anchors were written with one: it was deleted`);
  const oldest = g.chain.entries[0];
  if (g.listed.length === 0 && g.keyed && oldest && g.now - oldest.at.getTime() > g.graceMs) {
    return problem(0, `${g.bookId} has ${entries} audit entries since ${oldest.at.toISOString()} but no anchor: its anchors were deleted (or never written)`);
  }
  return null;
}
