/**
 * The two mutable, signed companions of the immutable anchors (docs/security.md "Tamper evidence"):
 * - a per-book head record `anchors/<book>/head.json` naming the newest anchor, rewritten only forward
 *   (a higher seq), so deleting the newest anchors leaves a record that points at nothing;
 * - a store-wide book index `anchors/_books.json` naming every anchored book, so a book deleted
 *   together with all its anchors and its head record is still missed.
 * Without the key an attacker can delete them (a finding) or put back an older signed copy (a
 * rollback that anchors cannot see; see the docs), but never write a new one.
 */
import { text } from "node:stream/consumers";
import { isPfsError } from "../errors/index.js";
import { BOOK_ID_PATTERN } from "../paths/index.js";
import type { StoreContext } from "./context.js";
import { ANCHORS_PREFIX, auditKeyId, checkHmac, hmacHex, parseAnchorKey, type SignatureCheck } from "./anchors.js";

const HEAD_FORMAT = "pfs-anchor-head-v1";
const INDEX_FORMAT = "pfs-anchor-books-v1";
export const BOOK_INDEX_KEY = `${ANCHORS_PREFIX}_books.json`;

export interface HeadRecord {
  format: typeof HEAD_FORMAT;
  bookId: string;
  /** The newest anchor's seq and entry hash. */
  seq: number;
  entryHash: string;
  at: string;
  keyId: string | null;
  hmac: string | null;
}

export interface BookIndex {
  format: typeof INDEX_FORMAT;
  /** Sorted, unique. */
  books: string[];
  at: string;
  keyId: string | null;
  hmac: string | null;
}

export function headRecordKey(bookId: string): string {
  return `${ANCHORS_PREFIX}${bookId}/head.json`;
}

const headText = (h: Omit<HeadRecord, "hmac">) => JSON.stringify([h.format, h.bookId, h.seq, h.entryHash, h.at, h.keyId]);
const indexText = (i: Omit<BookIndex, "hmac">) => JSON.stringify([i.format, i.books, i.at, i.keyId]);

function sign<T extends { keyId: string | null }>(record: T, textOf: (r: T) => string, key: string | null): T & { hmac: string | null } {
  const withKey = { ...record, keyId: key === null ? null : auditKeyId(key) };
  return { ...withKey, hmac: key === null ? null : hmacHex(key, textOf(withKey)) };
}

function makeHeadRecord(head: { bookId: string; seq: number; entryHash: string }, at: Date, key: string | null): HeadRecord {
  return sign({ format: HEAD_FORMAT, ...head, at: at.toISOString(), keyId: null } as const, headText, key);
}

function makeBookIndex(books: Iterable<string>, at: Date, key: string | null): BookIndex {
  return sign({ format: INDEX_FORMAT, books: [...new Set(books)].sort(), at: at.toISOString(), keyId: null } as const, indexText, key);
}

const isHex64 = (x: unknown) => typeof x === "string" && /^[0-9a-f]{64}$/.test(x);
const isSig = (v: { keyId?: unknown; hmac?: unknown }) => (v.keyId === null || typeof v.keyId === "string") && (v.hmac === null || typeof v.hmac === "string");

function parseJson(bytes: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(bytes) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function parseHeadRecord(bytes: string, bookId: string): HeadRecord | null {
  const v = parseJson(bytes);
  const ok = v && v.format === HEAD_FORMAT && v.bookId === bookId && Number.isSafeInteger(v.seq) && (v.seq as number) >= 1 && isHex64(v.entryHash) && typeof v.at === "string" && isSig(v);
  return ok ? (v as unknown as HeadRecord) : null;
}

export function parseBookIndex(bytes: string): BookIndex | null {
  const v = parseJson(bytes);
  const ok = v && v.format === INDEX_FORMAT && Array.isArray(v.books) && v.books.every((b) => typeof b === "string" && BOOK_ID_PATTERN.test(b)) && typeof v.at === "string" && isSig(v);
  return ok ? (v as unknown as BookIndex) : null;
}

export const checkHeadRecord = (h: HeadRecord, keys: string[]): SignatureCheck => checkHmac(h, headText(h), keys);
export const checkBookIndex = (i: BookIndex, keys: string[]): SignatureCheck => checkHmac(i, indexText(i), keys);

/** The text stored at `key`, or null when nothing is there. */
export async function readText(ctx: StoreContext, key: string): Promise<string | null> {
  try {
    return await text(await ctx.blobs.storage.getStream(key));
  } catch (err) {
    if (isPfsError(err, "NOT_FOUND")) return null;
    throw err;
  }
}

/** Keys that verify (current and previous); empty when no key is configured. */
export function auditKeys(ctx: StoreContext): string[] {
  return ctx.config.auditKey === null ? [] : [ctx.config.auditKey, ...ctx.config.auditKeysPrevious];
}

/** A record is trusted when it verifies, or when no key is configured at all (then nothing is signed). */
export function trusted(sig: SignatureCheck, keys: string[]): boolean {
  return keys.length === 0 || sig === "valid";
}

/** Every book that has at least one anchor, and whether any head record exists (v2 anchors were written). */
async function listAnchoredBooks(ctx: StoreContext): Promise<{ books: Set<string>; headRecords: boolean }> {
  const books = new Set<string>();
  let headRecords = false;
  for await (const info of ctx.blobs.storage.list(ANCHORS_PREFIX)) {
    const parsed = parseAnchorKey(info.key);
    if (parsed) books.add(parsed.bookId);
    else if (info.key.endsWith("/head.json")) headRecords = true;
  }
  return { books, headRecords };
}

const indexed = new WeakMap<StoreContext, Set<string>>();

/**
 * Makes sure the signed book index names `bookId` before its first anchor is written. A store without
 * an index and without head records (new, or anchored by older versions) gets one built from its
 * anchors. An index that is unverifiable, or missing while head records exist, was tampered with: it is
 * left as found (verify keeps naming it; re-signing would launder the evidence). An index signed by a
 * previous key is re-signed with the current one. Two processes adding different books at once can
 * drop one: the index is read back and the write retried.
 */
export async function ensureIndexed(ctx: StoreContext, bookId: string): Promise<void> {
  const known = indexed.get(ctx) ?? new Set<string>();
  indexed.set(ctx, known);
  if (known.has(bookId)) return;
  const keys = auditKeys(ctx);
  const currentKeyId = ctx.config.auditKey === null ? null : auditKeyId(ctx.config.auditKey);
  for (let attempt = 0; attempt < 4; attempt++) {
    const raw = await readText(ctx, BOOK_INDEX_KEY);
    const index = raw === null ? null : parseBookIndex(raw);
    if (raw !== null && (index === null || !trusted(checkBookIndex(index, keys), keys))) return;
    if (index && index.books.includes(bookId) && index.keyId === currentKeyId) {
      for (const b of index.books) known.add(b);
      return;
    }
    let books: Set<string>;
    if (index) books = new Set(index.books);
    else {
      const listed = await listAnchoredBooks(ctx);
      if (listed.headRecords) return;
      books = listed.books;
    }
    books.add(bookId);
    await ctx.blobs.storage.putBuffer(BOOK_INDEX_KEY, Buffer.from(`${JSON.stringify(makeBookIndex(books, new Date(), ctx.config.auditKey))}\n`));
  }
}

/** The head record: trusted, absent, or present but malformed / not signed by a configured key. */
export async function readHeadState(ctx: StoreContext, bookId: string): Promise<{ status: "trusted"; record: HeadRecord } | { status: "absent" | "untrusted" }> {
  const raw = await readText(ctx, headRecordKey(bookId));
  if (raw === null) return { status: "absent" };
  const record = parseHeadRecord(raw, bookId);
  const keys = auditKeys(ctx);
  return record && trusted(checkHeadRecord(record, keys), keys) ? { status: "trusted", record } : { status: "untrusted" };
}

export async function writeHeadRecord(ctx: StoreContext, head: { bookId: string; seq: number; entryHash: string }): Promise<void> {
  await ctx.blobs.storage.putBuffer(headRecordKey(head.bookId), Buffer.from(`${JSON.stringify(makeHeadRecord(head, new Date(), ctx.config.auditKey))}\n`));
}
