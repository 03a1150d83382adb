/**
 * The optional public mirror (DESIGN 4.1): a path-keyed copy `books/<book>/<path>` of base files,
 * so public URLs of assets keep working. It is derived data: updated after each commit of a base
 * file, never for overlays, and rebuilt from the journal by `repairMirror`.
 */
import { pipeline } from "node:stream/promises";
import { PassThrough } from "node:stream";
import { MIRROR_PREFIX, mirrorKey, objectKey } from "../blobs/index.js";
import { isPfsError, PfsError } from "../errors/index.js";
import { getFile, listBooks, listFiles, type FileRow } from "../journal/queries.js";
import { BASE_USER, assertBookId, parsePath, type ParsedPath } from "../paths/index.js";
import { inJournal, type StoreContext } from "./context.js";
import type { CommitListener } from "./mutations.js";

export type MirrorMode = "assets" | "all";

/** Pure: does this mode mirror this kind of path? */
export function isMirrored(mode: MirrorMode | false, parsed: Pick<ParsedPath, "kind">): boolean {
  if (!mode) return false;
  return mode === "all" || parsed.kind === "asset";
}

export interface MirrorRepairInput {
  /** Only this book; without it every book, and mirror copies of books no longer in the journal go too. */
  bookId?: string;
  dryRun?: boolean;
}

export interface MirrorRepairReport {
  dryRun: boolean;
  /** Mirror keys written (missing, or stale: different size or older than the journal row). */
  copied: string[];
  /** Mirror keys removed (no base file behind them, or a kind this mode does not mirror). */
  removed: string[];
  unchanged: number;
}

/** Pure: what a mirror repair must do, given the journal rows and the mirror copies that exist. */
export function planMirrorRepair<R extends Pick<FileRow, "bookId" | "path" | "size" | "writtenAt">>(
  mode: MirrorMode | false,
  rows: R[],
  existing: { key: string; size: number; lastModified: Date }[],
) {
  const wanted = new Map<string, R>();
  for (const row of rows) if (isMirrored(mode, parsePath(row.path))) wanted.set(mirrorKey(row.bookId, row.path), row);
  const have = new Map(existing.map((e) => [e.key, e]));
  const copy: R[] = [];
  let unchanged = 0;
  for (const [key, row] of wanted) {
    const copyOf = have.get(key);
    const stale = !copyOf || copyOf.size !== row.size || copyOf.lastModified.getTime() < row.writtenAt.getTime() - 1000;
    if (stale) copy.push(row);
    else unchanged++;
  }
  const remove = existing.filter((e) => !wanted.has(e.key)).map((e) => e.key);
  return { copy, remove, unchanged };
}

export class Mirror {
  /** One update at a time per key, each reading the journal afresh, so the last one wins. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: StoreContext,
    private readonly mode: MirrorMode | false,
  ) {}

  /**
   * After a base commit. A failing mirror update must not turn a committed write into an error
   * for the caller: it is reported on stderr and `repairMirror` restores the copy.
   */
  readonly listener: CommitListener = async ({ bookId, path, parsed }) => {
    if (!isMirrored(this.mode, parsed)) return;
    await this.sync(bookId, path).catch((err: unknown) => {
      const reason = isPfsError(err) ? `${err.code}: ${err.message}` : String(err);
      console.warn(`panaversity-fs: mirror copy of ${bookId}/${path} not updated (${reason}); run repairMirror to restore it.`);
    });
  };

  /** Makes `books/<book>/<path>` match the journal's current base row (copy or remove). */
  sync(bookId: string, path: string): Promise<void> {
    const key = mirrorKey(bookId, path);
    const previous = this.pending.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () => {
      const row = await inJournal(this.ctx, () => getFile(this.ctx.journal.db, { bookId, path, userId: BASE_USER }));
      if (row) await this.copy(row.sha256, key);
      else await this.ctx.blobs.storage.delete(key);
    });
    this.pending.set(key, next);
    void next.finally(() => {
      if (this.pending.get(key) === next) this.pending.delete(key);
    }).catch(() => {});
    return next;
  }

  private async copy(hash: string, key: string): Promise<void> {
    const storage = this.ctx.blobs.storage;
    if (storage.copy) return storage.copy(objectKey(hash), key);
    const source = await storage.getStream(objectKey(hash));
    const body = new PassThrough();
    await Promise.all([storage.putStream(key, body), pipeline(source, body)]);
  }

  async repair(input: MirrorRepairInput = {}): Promise<MirrorRepairReport> {
    // With the mirror off, a repair would delete every public copy: refuse rather than guess.
    if (!this.mode) throw new PfsError("INVALID_ARGUMENT", 'The public mirror is off: open the store with mirror: "assets" or "all" to repair it.');
    if (input.bookId !== undefined) assertBookId(input.bookId);
    const db = this.ctx.journal.db;
    const books = input.bookId !== undefined ? [input.bookId] : await inJournal(this.ctx, () => listBooks(db));
    const rows: FileRow[] = [];
    for (const bookId of books) rows.push(...(await inJournal(this.ctx, () => listFiles(db, { bookId, userId: BASE_USER }))));
    const existing = [];
    for await (const o of this.ctx.blobs.storage.list(input.bookId !== undefined ? mirrorKey(input.bookId, "") : MIRROR_PREFIX)) existing.push(o);
    const plan = planMirrorRepair(this.mode, rows, existing);
    if (!input.dryRun) {
      for (const row of plan.copy) await this.copy(row.sha256, mirrorKey(row.bookId, row.path));
      for (const key of plan.remove) await this.ctx.blobs.storage.delete(key);
    }
    return {
      dryRun: input.dryRun ?? false,
      copied: plan.copy.map((r) => mirrorKey(r.bookId, r.path)),
      removed: plan.remove,
      unchanged: plan.unchanged,
    };
  }
}

