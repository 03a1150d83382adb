/** What a store opened with `readOnly` may not do, and the one memo it still tries to keep. */
import { PfsError } from "../errors/index.js";
import { recordManifest } from "../journal/queries.js";
import { journalError, sqlState } from "../journal/db.js";
import type { StoreContext } from "./context.js";

/** Runs a mutation, or refuses it (FORBIDDEN, nothing touched) on a read-only store. */
export function writable<T>(ctx: StoreContext, what: string, fn: () => Promise<T>): Promise<T> {
  if (!ctx.config.readOnly) return fn();
  return Promise.reject(new PfsError("FORBIDDEN", `This store was opened read-only; it may not ${what}.`, { readOnly: true }));
}

/**
 * Remembers which audit sequence number a manifest hash belongs to, so the next plan from it is a
 * delta. A memo, not content: a read-only store tries it too and, without an INSERT/UPDATE grant on
 * book_manifest, does without (its next plan from an unknown manifest compares it with the hash the
 * database computes, and reads the whole file list only when they differ).
 */
export async function rememberManifest(ctx: StoreContext, bookId: string, manifestHash: string, seq: number): Promise<void> {
  if (memoRefused.has(ctx)) return;
  try {
    await recordManifest(ctx.journal.db, bookId, manifestHash, seq);
  } catch (err) {
    if (!ctx.config.readOnly) throw journalError(err, ctx.journal.description);
    // The role may not write it (SELECT-only): not asked again by this store, so its loads make no refused statement.
    if (sqlState(err) === INSUFFICIENT_PRIVILEGE) memoRefused.add(ctx);
  }
}

const INSUFFICIENT_PRIVILEGE = "42501";
/** Read-only stores whose role was refused the memo (SQLSTATE 42501). */
const memoRefused = new WeakSet<StoreContext>();
