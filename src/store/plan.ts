/**
 * plan_build (DESIGN 4.4): what changed in a book's base files since a manifest the caller holds.
 * The audit log is the book's ordered change log, so a remembered manifest's sequence number plus the
 * entries after it give the diff; cost grows with the number of changes, not with the book.
 */
import { isPfsError, PfsError } from "../errors/index.js";
import { isSha256Hex } from "../hashing/index.js";
import { assertBookId, assertUserId, BASE_USER } from "../paths/index.js";
import { baseChangesSince, findManifest, getBookHead, listFiles } from "../journal/queries.js";
import { rememberManifest } from "./read-only.js";
import { baseRowsOf, manifestBetween, manifestHashOfJournal, overlayRowsOf } from "../journal/manifest-queries.js";
import { journalError, type Tx } from "../journal/db.js";
import { compareBytes, manifestHash } from "./manifest.js";
import type { StoreContext } from "./context.js";

export type PlanChange = "added" | "modified" | "deleted";

export interface PlanFile {
  path: string;
  /** Hash now; null when the file was deleted. */
  currentHash: string | null;
  /** Hash in the target manifest; null when the file did not exist there. */
  targetHash: string | null;
  change: PlanChange;
}

export interface PlanInput {
  bookId: string;
  /** The manifest hash the caller's copy corresponds to (e.g. its build cache). */
  targetManifestHash?: string;
}

export interface BuildPlan {
  status: "unchanged" | "changed";
  /** The current manifest hash; pass it as targetManifestHash next time. */
  manifestHash: string;
  files: PlanFile[];
  /** Set when the target is unknown for this book (then every file is listed as added). */
  warning?: string;
}

/** One successful base change from the log, in order. */
export interface ChangeEntry {
  path: string;
  prevHash: string | null;
}

/**
 * Pure diff. The target hash of a changed path is the prev_hash of its first change after the target
 * (per-file chain: that is what the path held at the target); paths that came back to the same hash
 * are not changes.
 */
export function diffChanges(changes: Iterable<ChangeEntry>, currentHashes: ReadonlyMap<string, string>): PlanFile[] {
  const targetOf = new Map<string, string | null>();
  for (const c of changes) if (!targetOf.has(c.path)) targetOf.set(c.path, c.prevHash);
  const files: PlanFile[] = [];
  for (const [path, targetHash] of targetOf) {
    const currentHash = currentHashes.get(path) ?? null;
    if (currentHash === targetHash) continue;
    files.push({ path, currentHash, targetHash, change: targetHash === null ? "added" : currentHash === null ? "deleted" : "modified" });
  }
  return files.sort((a, b) => compareBytes(a.path, b.path));
}

/** Every current file as added: the plan when the caller holds nothing usable. */
function allAdded(current: Iterable<{ path: string; hash: string }>): PlanFile[] {
  return [...current]
    .map((f) => ({ path: f.path, currentHash: f.hash, targetHash: null, change: "added" as const }))
    .sort((a, b) => compareBytes(a.path, b.path));
}

/** Applies a plan to the target's files: the result is the current base (used by tests and clients). */
export function applyPlan(target: ReadonlyMap<string, string>, files: Iterable<PlanFile>): Map<string, string> {
  const next = new Map(target);
  for (const f of files) {
    if (f.currentHash === null) next.delete(f.path);
    else next.set(f.path, f.currentHash);
  }
  return next;
}

/** A plan file with the current size of its object (null when deleted): what a loader needs to fetch it. */
export interface SizedPlanFile extends PlanFile {
  size: number | null;
}

/** Journal work of one plan, for reports and benchmarks. */
export interface JournalIo {
  queries: number;
  rows: number;
}

interface PlanRead {
  plan: BuildPlan & { files: SizedPlanFile[] };
  seq: number;
}

function count<T>(io: JournalIo, rows: T): T {
  io.queries++;
  io.rows += Array.isArray(rows) ? rows.length : rows instanceof Map ? rows.size : rows ? 1 : 0;
  return rows;
}

/** Diff from a remembered manifest: reads only the log after it and the changed paths' rows. */
async function planFromSeq(tx: Tx, bookId: string, target: string, targetSeq: number, headSeq: number, io: JournalIo): Promise<PlanRead> {
  const changes = count(io, await baseChangesSince(tx, bookId, targetSeq));
  if (changes.length === 0) return { plan: { status: "unchanged", manifestHash: target, files: [] }, seq: headSeq };
  const paths = [...new Set(changes.map((c) => c.path!))];
  const rows = count(io, await baseRowsOf(tx, bookId, paths));
  const files = diffChanges(
    changes.map((c) => ({ path: c.path!, prevHash: c.prevHash })),
    new Map([...rows].map(([path, r]) => [path, r.sha256])),
  ).map((f) => ({ ...f, size: rows.get(f.path)?.size ?? null }));
  // The base has not changed since its last change: a manifest remembered from then on is current.
  const lastChange = changes[changes.length - 1]!.bookSeq;
  const current = count(io, await manifestBetween(tx, bookId, lastChange, headSeq)) ?? count(io, await manifestHashOfJournal(tx, bookId));
  return { plan: { status: current === target ? "unchanged" : "changed", manifestHash: current, files }, seq: headSeq };
}

/** No usable target: the full file list (inherently O(book)). */
async function planFromScratch(tx: Tx, bookId: string, target: string | undefined, headSeq: number, io: JournalIo): Promise<PlanRead> {
  // A target that was never remembered may still be current: a store without INSERT on book_manifest (a
  // SELECT-only role) remembers nothing. The hash computed by the database answers that without the list.
  if (target !== undefined && count(io, await manifestHashOfJournal(tx, bookId)) === target) {
    return { plan: { status: "unchanged", manifestHash: target, files: [] }, seq: headSeq };
  }
  const rows = count(io, await listFiles(tx, { bookId, userId: BASE_USER }));
  const current = manifestHash(rows.map((r) => ({ path: r.path, hash: r.sha256 })));
  if (target === current) return { plan: { status: "unchanged", manifestHash: current, files: [] }, seq: headSeq };
  const sizes = new Map(rows.map((r) => [r.path, r.size]));
  const files = allAdded(rows.map((r) => ({ path: r.path, hash: r.sha256 }))).map((f) => ({ ...f, size: sizes.get(f.path)! }));
  const plan: PlanRead["plan"] = { status: "changed", manifestHash: current, files };
  if (target !== undefined) {
    plan.warning = `Manifest ${target} is not known for book ${bookId} (never built from this store, or another book's); every file is listed as added.`;
  }
  return { plan, seq: headSeq };
}

export interface LoadPlanInput extends PlanInput {
  /** Users whose overlay rows come with the plan (a build's previewUser and overlayUsers). */
  userIds?: string[];
}

export interface OverlayFile {
  userId: string;
  path: string;
  hash: string;
  size: number;
}

/**
 * planBuild for a build cache: the plan (with sizes), the given users' overlays and the audit sequence
 * number, all read in one read-only transaction, so every view a build makes shows one committed state.
 */
export interface LoadPlan extends BuildPlan {
  files: SizedPlanFile[];
  /** The book's audit sequence number the plan was read at. */
  seq: number;
  overlays: OverlayFile[];
  io: JournalIo;
}

async function readPlan(ctx: StoreContext, input: LoadPlanInput): Promise<LoadPlan> {
  assertBookId(input.bookId);
  const { bookId, targetManifestHash: target } = input;
  if (target !== undefined && !isSha256Hex(target)) {
    throw new PfsError("INVALID_ARGUMENT", `targetManifestHash must be a lowercase hex SHA-256 (64 characters); got ${JSON.stringify(target)}.`);
  }
  const userIds = input.userIds ?? [];
  if (!Array.isArray(userIds)) throw new PfsError("INVALID_ARGUMENT", "userIds must be an array of user ids.");
  for (const userId of userIds) assertUserId(userId ?? null);
  const io: JournalIo = { queries: 0, rows: 0 };
  try {
    const { plan, seq, overlays, remembered } = await ctx.journal.db.transaction(
      async (tx) => {
        const headSeq = count(io, await getBookHead(tx, bookId))?.seq ?? 0;
        const known = target !== undefined ? count(io, await findManifest(tx, bookId, target)) : null;
        const read = known ? await planFromSeq(tx, bookId, target!, known.seq, headSeq, io) : await planFromScratch(tx, bookId, target, headSeq, io);
        const overlays = userIds.length ? count(io, await overlayRowsOf(tx, bookId, userIds)) : [];
        // The target was remembered at the head already: remembering it again would change nothing.
        const remembered = known !== null && read.plan.manifestHash === target && known.seq >= headSeq;
        return { ...read, overlays, remembered };
      },
      { isolationLevel: "repeatable read", accessMode: "read only" },
    );
    // Remember the current manifest so the next plan from it is a delta (and its hash is not recomputed).
    // Skipped when it already is: an unchanged plan (every dev-server poll) then writes nothing.
    if (!remembered) await rememberManifest(ctx, bookId, plan.manifestHash, seq);
    ctx.metrics.deltaFiles.set(plan.files.length);
    return { ...plan, seq, overlays: overlays.map((o) => ({ userId: o.userId, path: o.path, hash: o.sha256, size: o.size })), io };
  } catch (err) {
    throw isPfsError(err) ? err : journalError(err, ctx.journal.description);
  }
}

export async function planBuildOp(ctx: StoreContext, input: PlanInput): Promise<BuildPlan> {
  const { status, manifestHash, files, warning } = await readPlan(ctx, { bookId: input.bookId, targetManifestHash: input.targetManifestHash });
  const plan: BuildPlan = { status, manifestHash, files: files.map(({ size: _size, ...f }) => f) };
  if (warning !== undefined) plan.warning = warning;
  return plan;
}

export function planLoadOp(ctx: StoreContext, input: LoadPlanInput): Promise<LoadPlan> {
  return readPlan(ctx, input);
}
