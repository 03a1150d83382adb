/**
 * verify and repair (DESIGN 4.1, 4.3; invariants R2 and R6): compares the journal with storage and
 * the audit chains with themselves and with the journal. `verify` only reads; `repair` fixes what can
 * be fixed without guessing and lists the rest.
 */
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { isPfsError } from "../errors/index.js";
import { HashingStream } from "../hashing/index.js";
import { assertBookId } from "../paths/index.js";
import { journalError } from "../journal/db.js";
import { auditBooks, bookChain, getBookHead, listBooks, listFiles, referencedHashes, type FileRow } from "../journal/queries.js";
import { verifyBookChain, type ChainProblem } from "../journal/audit-chain.js";
import type { StoreContext } from "./context.js";
import { DEFAULT_GC_GRACE_SECONDS, gcOp, listTempUploads, type TempUpload } from "./gc.js";
import { Mirror } from "./mirror.js";
import { checkAnchors, type AnchorReport } from "./anchor-check.js";
import { compareJournalWithChain, type JournalAuditProblem } from "./journal-vs-chain.js";

export { compareJournalWithChain, type JournalAuditProblem } from "./journal-vs-chain.js";

export type VerifyPhase = "objects" | "chains" | "orphans" | "mirror";

export interface VerifyInput {
  /** Only this book's rows and chain; orphan objects are always judged store-wide (objects are shared). */
  bookId?: string;
  /** Orphans older than this are "past grace" (repair removes those). Default 24 h. */
  graceSeconds?: number;
  /** Called as work advances (the CLI draws a progress bar with it). */
  onProgress?: (p: { phase: VerifyPhase; done: number; total: number }) => void;
}

export interface FileRef {
  bookId: string;
  path: string;
  userId: string;
  hash: string;
}

export interface ObjectProblem extends FileRef {
  kind: "missing" | "corrupt" | "unreadable";
  /** What the stored bytes hash to, for "corrupt". */
  actualHash?: string;
  message: string;
}

export interface Orphan {
  hash: string;
  size: number;
  lastModified: Date;
  pastGrace: boolean;
}

export interface VerifyReport {
  ok: boolean;
  books: string[];
  checked: { rows: number; objects: number; auditEntries: number; storedObjects: number };
  /** (a) journal rows whose object is missing, unreadable or hashes differently (R2). */
  objectProblems: ObjectProblem[];
  /** (b) broken per-book entry_hash chains and per-file prev/new hash chains (R6). */
  chainProblems: ChainProblem[];
  /** (b') journal rows that do not match their file's audit chain (a row edited outside the store). */
  journalAuditProblems: JournalAuditProblem[];
  /** (c) objects no journal row points to; only those past grace are problems. */
  orphans: Orphan[];
  /** Uploads left by writes that died (temp objects, partial local files, open S3 multipart uploads); past grace they are problems. */
  tempUploads: TempUpload[];
  /** Present when unfinished S3 multipart uploads could not be listed (the server lacks ListMultipartUploads). */
  unfinishedUploadsUnchecked?: string;
  graceSeconds: number;
  /** (e) the chains against their anchors in object storage: rewritten or deleted history, forged anchors. */
  anchors: AnchorReport;
  /** (d) public mirror copies that are missing or stale (to copy) or have no base file (to remove). */
  mirror: { checked: true; stale: string[]; extra: string[]; unchanged: number } | { checked: false; reason: string };
}

export interface RepairInput {
  bookId?: string;
  graceSeconds?: number;
  dryRun?: boolean;
  onProgress?: VerifyInput["onProgress"];
}

export interface RepairReport {
  before: VerifyReport;
  /** What was fixed (or would be, with dryRun): storage keys removed by gc, mirror keys re-copied or removed. */
  fixed: { removedOrphans: string[]; abortedUploads: TempUpload["key"][]; mirrorCopied: string[]; mirrorRemoved: string[] };
  /** What needs a person: nothing here can be fixed without guessing. */
  unfixable: string[];
  dryRun: boolean;
}

async function hashObject(ctx: StoreContext, hash: string): Promise<string> {
  const hasher = new HashingStream();
  await pipeline(await ctx.blobs.get(hash), hasher, new Writable({ write: (_c, _e, cb) => cb() }));
  return hasher.digest();
}

/** Journal rows of the books in scope (each row once). */
async function rowsInScope(ctx: StoreContext, books: string[]): Promise<FileRow[]> {
  const rows: FileRow[] = [];
  for (const bookId of books) rows.push(...(await listFiles(ctx.journal.db, { bookId })));
  return rows;
}

/** (a) Each distinct object a row points to is read whole and re-hashed (streamed: bounded memory). */
async function checkObjects(ctx: StoreContext, rows: FileRow[], progress: VerifyInput["onProgress"]): Promise<{ problems: ObjectProblem[]; objects: number }> {
  const byHash = new Map<string, FileRow[]>();
  for (const row of rows) byHash.set(row.sha256, [...(byHash.get(row.sha256) ?? []), row]);
  const problems: ObjectProblem[] = [];
  let done = 0;
  for (const [hash, users] of byHash) {
    let problem: Omit<ObjectProblem, keyof FileRef> | null = null;
    try {
      const actual = await hashObject(ctx, hash);
      if (actual !== hash) problem = { kind: "corrupt", actualHash: actual, message: `object ${hash} hashes to ${actual}` };
    } catch (err) {
      problem = isPfsError(err, "NOT_FOUND")
        ? { kind: "missing", message: `object ${hash} is missing from storage` }
        : { kind: "unreadable", message: `object ${hash} could not be read: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (problem) for (const r of users) problems.push({ bookId: r.bookId, path: r.path, userId: r.userId, hash, ...problem });
    progress?.({ phase: "objects", done: ++done, total: byHash.size });
  }
  return { problems, objects: byHash.size };
}

/** One book's chain and head from one snapshot. */
function loadChain(ctx: StoreContext, bookId: string) {
  return ctx.journal.db.transaction(
    async (tx) => ({ entries: await bookChain(tx, bookId), head: await getBookHead(tx, bookId) }),
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}

async function checkChains(ctx: StoreContext, books: string[], rows: FileRow[], progress: VerifyInput["onProgress"]) {
  const chainProblems: ChainProblem[] = [];
  const journalAuditProblems: JournalAuditProblem[] = [];
  let auditEntries = 0;
  let done = 0;
  for (const bookId of books) {
    const { entries, head } = await loadChain(ctx, bookId);
    auditEntries += entries.length;
    chainProblems.push(...verifyBookChain(entries, head ?? undefined));
    journalAuditProblems.push(...compareJournalWithChain(bookId, rows.filter((r) => r.bookId === bookId), entries));
    progress?.({ phase: "chains", done: ++done, total: books.length });
  }
  return { chainProblems, journalAuditProblems, auditEntries };
}

/** (c) Store-wide: objects no row of any book points to. References are read after the listing, so a commit in between is never reported. */
async function findOrphans(ctx: StoreContext, graceSeconds: number, progress: VerifyInput["onProgress"]): Promise<{ orphans: Orphan[]; temps: TempUpload[]; unchecked?: string; stored: number }> {
  const listed: { hash: string; size: number; lastModified: Date }[] = [];
  for await (const info of ctx.blobs.list()) listed.push(info);
  const referenced = await referencedHashes(ctx.journal.db);
  const cutoff = Date.now() - graceSeconds * 1000;
  const orphans = listed
    .filter((o) => !referenced.has(o.hash))
    .map((o) => ({ ...o, pastGrace: o.lastModified.getTime() <= cutoff }));
  const { temps, unchecked } = await listTempUploads(ctx, new Date(cutoff));
  progress?.({ phase: "orphans", done: listed.length, total: listed.length });
  return { orphans, temps, unchecked, stored: listed.length };
}

/** (d) A dry-run mirror repair says exactly which copies are stale, missing or extra. */
async function checkMirror(ctx: StoreContext, mirror: Mirror, bookId: string | undefined): Promise<VerifyReport["mirror"]> {
  if (!ctx.config.mirror) return { checked: false, reason: "the public mirror is off for this store" };
  const plan = await mirror.repair({ bookId, dryRun: true });
  return { checked: true, stale: plan.copied, extra: plan.removed, unchanged: plan.unchanged };
}

export async function verifyStore(ctx: StoreContext, input: VerifyInput = {}, mirror = new Mirror(ctx, ctx.config.mirror)): Promise<VerifyReport> {
  if (input.bookId !== undefined) assertBookId(input.bookId);
  const graceSeconds = input.graceSeconds ?? DEFAULT_GC_GRACE_SECONDS;
  try {
    const books =
      input.bookId !== undefined
        ? [input.bookId]
        : [...new Set([...(await listBooks(ctx.journal.db)), ...(await auditBooks(ctx.journal.db))])].sort();
    const rows = await rowsInScope(ctx, books);
    const objects = await checkObjects(ctx, rows, input.onProgress);
    const chains = await checkChains(ctx, books, rows, input.onProgress);
    const { orphans, temps, unchecked, stored } = await findOrphans(ctx, graceSeconds, input.onProgress);
    const anchors = await checkAnchors(ctx, input.bookId, (bookId) => loadChain(ctx, bookId), books);
    const mirrorReport = await checkMirror(ctx, mirror, input.bookId);
    input.onProgress?.({ phase: "mirror", done: 1, total: 1 });
    const ok =
      objects.problems.length === 0 &&
      chains.chainProblems.length === 0 &&
      chains.journalAuditProblems.length === 0 &&
      anchors.problems.length === 0 &&
      orphans.every((o) => !o.pastGrace) &&
      temps.every((t) => !t.pastGrace) &&
      (!mirrorReport.checked || mirrorReport.stale.length + mirrorReport.extra.length === 0);
    return {
      ok,
      books,
      checked: { rows: rows.length, objects: objects.objects, auditEntries: chains.auditEntries, storedObjects: stored },
      objectProblems: objects.problems,
      chainProblems: chains.chainProblems,
      journalAuditProblems: chains.journalAuditProblems,
      orphans,
      tempUploads: temps,
      ...(unchecked ? { unfinishedUploadsUnchecked: unchecked } : {}),
      graceSeconds,
      anchors,
      mirror: mirrorReport,
    };
  } catch (err) {
    throw isPfsError(err) ? err : journalError(err, ctx.journal.description);
  }
}

/**
 * Fixes what needs no guess: removes orphan objects and temporary uploads past the grace period
 * (the gc module, which re-reads the references right before deleting) and rebuilds stale mirror
 * copies from the journal. A missing or corrupt object, a broken chain or a journal row that
 * disagrees with its audit chain need a person (restore from a backup) and are only listed.
 */
export async function repairStore(ctx: StoreContext, input: RepairInput = {}, mirror = new Mirror(ctx, ctx.config.mirror)): Promise<RepairReport> {
  const before = await verifyStore(ctx, input, mirror);
  const dryRun = input.dryRun ?? false;
  const gc = await gcOp(ctx, { graceSeconds: before.graceSeconds, dryRun });
  const mirrored = ctx.config.mirror ? await mirror.repair({ bookId: input.bookId, dryRun }) : { copied: [], removed: [] };
  const unfixable = [
    ...before.objectProblems.map((p) => `${p.kind} object for ${p.bookId}:${p.path} (user ${p.userId}): ${p.message}; restore object ${p.hash} from a backup`),
    ...before.chainProblems.map((p) => `${p.kind} problem in book ${p.bookId} at entry #${p.bookSeq}: ${p.message}`),
    ...before.journalAuditProblems.map((p) => `journal/audit mismatch ${p.bookId}:${p.path} (user ${p.userId}): ${p.message} (journal ${p.journalHash}, audit ${p.auditHash})`),
    ...before.anchors.problems.map((p) => `${p.kind} in book ${p.bookId} at anchored entry #${p.seq}: ${p.message}`),
  ];
  return { before, fixed: { removedOrphans: gc.deleted, abortedUploads: gc.abortedUploads.map((u) => u.key), mirrorCopied: mirrored.copied, mirrorRemoved: mirrored.removed }, unfixable, dryRun };
}
