/**
 * Anchors (tamper evidence outside the database): the format of a book's chain-head witness, its
 * optional HMAC, and the pure comparison of anchors with a book's audit chain. I/O lives in
 * anchor-writer.ts (writing) and anchor-check.ts (verify).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { sha256Hex } from "../hashing/index.js";
import { BASE_USER, BOOK_ID_PATTERN } from "../paths/index.js";
import { BOOK_REMOVED, type ChainEntry } from "../journal/audit-chain.js";
import { manifestHash } from "./manifest.js";

const ANCHOR_FORMAT_V1 = "pfs-anchor-v1";
/** v2 adds `prevSeq`: a signed link to the book's previous anchor, so a deleted anchor below the newest is a gap. */
export const ANCHOR_FORMAT = "pfs-anchor-v2";
export const ANCHORS_PREFIX = "anchors/";
const SEQ_DIGITS = 16;

export interface Anchor {
  format: typeof ANCHOR_FORMAT | typeof ANCHOR_FORMAT_V1;
  bookId: string;
  /** The audit chain's head at anchoring time: its sequence number and entry_hash. */
  seq: number;
  entryHash: string;
  /** DESIGN 4.4 manifest hash of the base files at that seq. */
  manifestHash: string;
  anchoredAt: string;
  /** Fingerprint of the key that signed it (null: unsigned). */
  keyId: string | null;
  hmac: string | null;
  /** v2: the seq of the anchor this one follows (null: the book's first anchor). Absent in v1. */
  prevSeq?: number | null;
}

/** `anchors/<book>/<seq, zero-padded>.json`: listing order is seq order. */
export function anchorKey(bookId: string, seq: number): string {
  return `${ANCHORS_PREFIX}${bookId}/${String(seq).padStart(SEQ_DIGITS, "0")}.json`;
}

/** The inverse of anchorKey; null for keys that are not anchors. */
export function parseAnchorKey(key: string): { bookId: string; seq: number } | null {
  const m = /^anchors\/([^/]+)\/([0-9]{16})\.json$/.exec(key);
  return m && BOOK_ID_PATTERN.test(m[1]!) ? { bookId: m[1]!, seq: Number(m[2]) } : null;
}

/** A key's public fingerprint: names the key in anchors (for rotation) without revealing it. */
export function auditKeyId(key: string): string {
  return sha256Hex(`pfs-audit-key-id\n${key}`).slice(0, 16);
}

function signedText(a: Omit<Anchor, "hmac">): string {
  const fields: unknown[] = [a.format, a.bookId, a.seq, a.entryHash, a.manifestHash, a.anchoredAt, a.keyId];
  return JSON.stringify(a.format === ANCHOR_FORMAT_V1 ? fields : [...fields, a.prevSeq ?? null]);
}

/** HMAC-SHA256 of a canonical text, hex. */
export function hmacHex(key: string, text: string): string {
  return createHmac("sha256", key).update(text).digest("hex");
}

export function makeAnchor(
  head: { bookId: string; seq: number; entryHash: string; manifestHash: string; prevSeq?: number | null },
  at: Date,
  key: string | null,
): Anchor {
  const { prevSeq = null, ...rest } = head;
  const unsigned = { format: ANCHOR_FORMAT, ...rest, anchoredAt: at.toISOString(), keyId: key === null ? null : auditKeyId(key), prevSeq } as const;
  return { ...unsigned, hmac: key === null ? null : hmacHex(key, signedText(unsigned)) };
}

export type SignatureCheck = "valid" | "unsigned" | "unknown-key" | "bad-hmac";

/** Checks a signed record (anchor, head record, book index) with whichever configured key its keyId names. */
export function checkHmac(signed: { keyId: string | null; hmac: string | null }, text: string, keys: string[]): SignatureCheck {
  if (signed.keyId === null && signed.hmac === null) return "unsigned";
  const key = keys.find((k) => auditKeyId(k) === signed.keyId);
  if (key === undefined) return "unknown-key";
  const expected = Buffer.from(hmacHex(key, text), "hex");
  const given = Buffer.from(typeof signed.hmac === "string" && /^[0-9a-f]{64}$/.test(signed.hmac) ? signed.hmac : "", "hex");
  return given.length === expected.length && timingSafeEqual(given, expected) ? "valid" : "bad-hmac";
}

/** Checks an anchor's HMAC with whichever configured key its keyId names. */
export function checkSignature(a: Anchor, keys: string[]): SignatureCheck {
  return checkHmac(a, signedText(a), keys);
}

/** Parses stored anchor bytes; null if they are not an anchor of that key (a malformed or planted file). */
export function parseAnchor(bytes: Buffer, expected: { bookId: string; seq: number }): Anchor | null {
  let v: Partial<Anchor>;
  try {
    v = JSON.parse(bytes.toString("utf8")) as Partial<Anchor>;
  } catch {
    return null;
  }
  const hex = (x: unknown) => typeof x === "string" && /^[0-9a-f]{64}$/.test(x);
  const ok =
    v !== null &&
    typeof v === "object" &&
    (v.format === ANCHOR_FORMAT || v.format === ANCHOR_FORMAT_V1) &&
    (v.format === ANCHOR_FORMAT_V1 || v.prevSeq === null || (Number.isSafeInteger(v.prevSeq) && v.prevSeq! >= 1 && v.prevSeq! < expected.seq)) &&
    v.bookId === expected.bookId &&
    v.seq === expected.seq &&
    hex(v.entryHash) &&
    hex(v.manifestHash) &&
    typeof v.anchoredAt === "string" &&
    (v.keyId === null || typeof v.keyId === "string") &&
    (v.hmac === null || typeof v.hmac === "string");
  return ok ? (v as Anchor) : null;
}

export type AnchorProblemKind =
  | "rewritten-chain"
  | "deleted-book"
  | "truncated-chain"
  | "manifest-mismatch"
  | "forged-anchor"
  | "malformed-anchor"
  | "missing-anchors";

export interface AnchorProblem {
  kind: AnchorProblemKind;
  bookId: string;
  /** The anchored sequence number the problem is about. */
  seq: number;
  message: string;
}

/** Base manifest hash after replaying the book's successful base writes/deletes up to `seq`. */
export function manifestAtSeq(entries: ChainEntry[], seq: number): string {
  const files = new Map<string, string>();
  for (const e of entries) {
    if (e.bookSeq > seq) break;
    if (e.status === "ok" && e.operation === BOOK_REMOVED) files.clear(); // `pfs books rm`: the anchor records an empty book
    if (e.status !== "ok" || e.path === null || e.userId !== BASE_USER) continue;
    if (e.operation === "write" && e.newHash !== null) files.set(e.path, e.newHash);
    else if (e.operation === "delete") files.delete(e.path);
  }
  return manifestHash([...files].map(([path, hash]) => ({ path, hash })));
}

/**
 * Pure: one book's trusted anchors (signature already checked; newest first) against its chain
 * (ordered by bookSeq) and head. Returns the first divergence, or null. Anchors are read newest
 * first because a rewrite of any entry changes every later entry_hash: the newest anchor alone
 * detects it, and walking back to the newest anchor that still matches brackets where it began.
 */
export function compareChainWithAnchors(
  bookId: string,
  anchorsNewestFirst: Anchor[],
  entries: ChainEntry[],
  head: { seq: number; lastEntryHash: string | null } | null,
): AnchorProblem | null {
  const newest = anchorsNewestFirst[0];
  if (!newest) return null;
  if (head === null && entries.length === 0) {
    return {
      kind: "deleted-book",
      bookId,
      seq: newest.seq,
      message: `anchors prove book ${bookId} had ${newest.seq} audit entries (anchored ${newest.anchoredAt}), but the database has no head and no audit entries for it: the book was deleted`,
    };
  }
  const headSeq = head?.seq ?? entries.at(-1)?.bookSeq ?? 0;
  if (headSeq < newest.seq) {
    return {
      kind: "truncated-chain",
      bookId,
      seq: newest.seq,
      message: `the chain head is #${headSeq} but entry #${newest.seq} was anchored at ${newest.anchoredAt}: history after #${headSeq} was removed`,
    };
  }
  const bySeq = new Map(entries.map((e) => [e.bookSeq, e]));
  let firstBad: Anchor | null = null;
  let lastGood: Anchor | null = null;
  for (const a of anchorsNewestFirst) {
    const entry = bySeq.get(a.seq);
    if (entry?.entryHash === a.entryHash) {
      lastGood = a;
      break;
    }
    firstBad = a;
  }
  if (firstBad) {
    const found = bySeq.get(firstBad.seq)?.entryHash ?? "no entry";
    const from = lastGood ? lastGood.seq + 1 : 1;
    const where = from === firstBad.seq ? `from entry #${from} on` : `from an entry between #${from} and #${firstBad.seq} on`;
    return {
      kind: "rewritten-chain",
      bookId,
      seq: firstBad.seq,
      message: `audit entry #${firstBad.seq} has entry_hash ${found} but was anchored as ${firstBad.entryHash} at ${firstBad.anchoredAt}: the history was rewritten ${where}${lastGood ? ` (anchor #${lastGood.seq} still matches)` : ""}`,
    };
  }
  const replayed = manifestAtSeq(entries, newest.seq);
  if (replayed !== newest.manifestHash) {
    return {
      kind: "manifest-mismatch",
      bookId,
      seq: newest.seq,
      message: `the base files the audit log gives at #${newest.seq} hash to manifest ${replayed}, but the anchor recorded ${newest.manifestHash}`,
    };
  }
  return null;
}
