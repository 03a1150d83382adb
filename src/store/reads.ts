import { Readable } from "node:stream";
import { PfsError, isPfsError } from "../errors/index.js";
import { BASE_USER, assertBookId, assertUserId, parsePath, validateTarget, type PathKind } from "../paths/index.js";
import { getBookHead, getFile, listBaseAndUser, listFiles, type FileRow } from "../journal/queries.js";
import { manifestHash } from "./manifest.js";
import { rememberManifest } from "./read-only.js";
import { inJournal, type StoreContext } from "./context.js";
import { VerifyingStream } from "../hashing/index.js";

export type Source = "base" | "overlay";

export interface ReadInput {
  bookId: string;
  path: string;
  userId?: string;
}

export interface FileMeta {
  path: string;
  hash: string;
  size: number;
  source: Source;
  writtenAt: Date;
  writtenBy: string;
}

export interface ReadResult extends FileMeta {
  content: Buffer;
}

export interface ListInput {
  bookId: string;
  prefix?: string;
  /** With a user: the book as that user sees it (overlay where present, base elsewhere). */
  userId?: string;
  /** "content" (all markdown), "asset", or one precise kind. */
  kind?: "content" | PathKind;
}

export interface ListEntry extends FileMeta {
  /** BASE_USER for base rows, the user for overlays. */
  userId: string;
  kind: PathKind;
}

export interface SnapshotInput {
  bookId: string;
  userId?: string;
}

export interface Snapshot {
  bookId: string;
  userId?: string;
  /** Manifest hash of the base files (overlays never count). */
  manifestHash: string;
  /** The audit sequence number the snapshot was taken at. */
  seq: number;
  files: { path: string; hash: string; size: number; source: Source }[];
}

async function resolveRow(ctx: StoreContext, input: ReadInput): Promise<FileRow> {
  validateTarget(input);
  const db = ctx.journal.db;
  const row = await inJournal(ctx, async () => {
    const overlay = input.userId !== undefined ? await getFile(db, { ...input, userId: input.userId }) : null;
    return overlay ?? (await getFile(db, { ...input, userId: BASE_USER }));
  });
  if (!row) {
    const who = input.userId ? ` (nor an overlay for user ${input.userId})` : "";
    throw new PfsError("NOT_FOUND", `"${input.path}" does not exist in book ${input.bookId}${who}.`, { path: input.path, bookId: input.bookId });
  }
  return row;
}

function metaOf(row: FileRow): FileMeta {
  return {
    path: row.path,
    hash: row.sha256,
    size: row.size,
    source: row.userId === BASE_USER ? "base" : "overlay",
    writtenAt: row.writtenAt,
    writtenBy: row.writtenBy,
  };
}

/** Objects up to this size are read whole and checked before their first byte is handed out. */
const VERIFY_BUFFER_LIMIT = 8 * 1024 * 1024;

function missingObject(ctx: StoreContext, operation: string, row: Pick<FileRow, "path" | "sha256">, err: unknown): never {
  if (isPfsError(err, "NOT_FOUND")) {
    ctx.metrics.integrityErrors.inc({ operation });
    throw new PfsError("INTEGRITY_ERROR", `The journal points "${row.path}" at object ${row.sha256}, which is missing from storage.`, {
      path: row.path,
      hash: row.sha256,
    });
  }
  throw err;
}

/** The error (counted in panaversityfs_integrity_errors_total) for bytes that differ from their journal row. */
export function integrityError(ctx: StoreContext, operation: string, path: string, hash: string, what: string): PfsError {
  ctx.metrics.integrityErrors.inc({ operation });
  return new PfsError("INTEGRITY_ERROR", `The stored object of "${path}" is corrupt: it does not match the journal (${what}).`, { path, hash });
}

/** Reads an object whole and checks its size and SHA-256 against the journal row. */
export async function verifiedBuffer(ctx: StoreContext, row: { path: string; sha256: string; size: number }, operation: string): Promise<Buffer> {
  const bytes = await ctx.blobs.getBuffer(row.sha256).catch((err) => {
    if (isPfsError(err, "INTEGRITY_ERROR")) throw integrityError(ctx, operation, row.path, row.sha256, "hash");
    return missingObject(ctx, operation, row, err);
  });
  if (bytes.length !== row.size) throw integrityError(ctx, operation, row.path, row.sha256, `size ${bytes.length}, journal ${row.size}`);
  return bytes;
}

export async function readFile(ctx: StoreContext, input: ReadInput): Promise<ReadResult> {
  const row = await resolveRow(ctx, input);
  const content = await verifiedBuffer(ctx, row, "read");
  const meta = metaOf(row);
  ctx.metrics.readTotal.inc({ source: meta.source });
  return { ...meta, content };
}

/**
 * The bytes as a stream, checked against the journal's size and SHA-256. Objects up to
 * VERIFY_BUFFER_LIMIT (all markdown) are checked before the stream yields anything; larger ones while
 * streaming, and the stream fails (without its last chunk) if they turn out wrong.
 */
export async function readStream(ctx: StoreContext, input: ReadInput): Promise<FileMeta & { stream: Readable }> {
  const row = await resolveRow(ctx, input);
  const meta = metaOf(row);
  let stream: Readable;
  if (row.size <= VERIFY_BUFFER_LIMIT) {
    stream = Readable.from([await verifiedBuffer(ctx, row, "read")], { objectMode: false });
  } else {
    const source = await ctx.blobs.get(row.sha256).catch((err) => missingObject(ctx, "read", row, err));
    const verifier = new VerifyingStream(row.sha256, { size: row.size, fail: (what) => integrityError(ctx, "read", row.path, row.sha256, what) });
    source.once("error", (err) => verifier.destroy(err));
    stream = source.pipe(verifier);
  }
  ctx.metrics.readTotal.inc({ source: meta.source });
  return { ...meta, stream };
}

/** Overlay rows replace base rows of the same path; input must be sorted by path. */
function mergeOverlay<T extends { path: string; userId: string }>(rows: T[]): T[] {
  const byPath = new Map<string, T>();
  for (const row of rows) {
    const seen = byPath.get(row.path);
    if (!seen || seen.userId === BASE_USER) byPath.set(row.path, row);
  }
  return [...byPath.values()];
}

function kindMatches(kind: PathKind, wanted: ListInput["kind"]): boolean {
  if (!wanted) return true;
  if (wanted === "content") return kind !== "asset";
  return kind === wanted;
}

export async function listFilesOp(ctx: StoreContext, input: ListInput): Promise<ListEntry[]> {
  assertBookId(input.bookId);
  assertUserId(input.userId);
  if (input.prefix !== undefined && typeof input.prefix !== "string") throw new PfsError("INVALID_ARGUMENT", "prefix must be a string.");
  const db = ctx.journal.db;
  const rows = await inJournal(ctx, () =>
    input.userId !== undefined
      ? listBaseAndUser(db, input.bookId, input.userId, input.prefix)
      : listFiles(db, { bookId: input.bookId, userId: BASE_USER, prefix: input.prefix }),
  );
  return mergeOverlay(rows)
    .map((row) => ({ ...metaOf(row), userId: row.userId, kind: parsePath(row.path).kind }))
    .filter((e) => kindMatches(e.kind, input.kind));
}

/** The book's files and manifest hash from one consistent snapshot of the journal. */
export async function snapshotOp(ctx: StoreContext, input: SnapshotInput): Promise<Snapshot> {
  assertBookId(input.bookId);
  assertUserId(input.userId);
  const { bookId, userId } = input;
  const { rows, seq } = await inJournal(ctx, () =>
    ctx.journal.db.transaction(
      async (tx) => {
        const head = await getBookHead(tx, bookId);
        const rows = userId !== undefined ? await listBaseAndUser(tx, bookId, userId) : await listFiles(tx, { bookId, userId: BASE_USER });
        return { rows, seq: head?.seq ?? 0 };
      },
      { isolationLevel: "repeatable read", accessMode: "read only" },
    ),
  );
  const base = rows.filter((r) => r.userId === BASE_USER);
  const hash = manifestHash(base.map((r) => ({ path: r.path, hash: r.sha256 })));
  // Remember which sequence number this manifest belongs to, so later plans can diff from it.
  await rememberManifest(ctx, bookId, hash, seq);
  return {
    bookId,
    userId,
    manifestHash: hash,
    seq,
    files: mergeOverlay(rows).map((r) => ({ path: r.path, hash: r.sha256, size: r.size, source: metaOf(r).source })),
  };
}
