/**
 * The write and delete contract of DESIGN section 3 as pure decisions over the current row.
 * I/O (objects, transactions) lives in the store; these only say what must happen.
 */
import { PfsError } from "../errors/index.js";

export type WriteMode = "created" | "updated";

export type WriteDecision =
  | { ok: true; mode: WriteMode; noop: boolean; previousHash: string | null }
  | { ok: false; error: PfsError };

export function decideWrite(path: string, currentHash: string | null, expectedHash: string | undefined, newHash: string): WriteDecision {
  if (currentHash === null) {
    if (expectedHash !== undefined) {
      return {
        ok: false,
        error: new PfsError("NOT_FOUND", `"${path}" does not exist, so it cannot be updated; write it without expectedHash to create it.`, {
          path,
          currentHash: null,
        }),
      };
    }
    return { ok: true, mode: "created", noop: false, previousHash: null };
  }
  if (expectedHash === undefined) {
    return {
      ok: false,
      error: new PfsError(
        "HASH_REQUIRED",
        `"${path}" already exists; pass expectedHash (its current hash ${currentHash}) to update it.`,
        { path, currentHash },
      ),
    };
  }
  if (expectedHash !== currentHash) {
    return {
      ok: false,
      error: new PfsError(
        "CONFLICT",
        `"${path}" changed since you read it: expected ${expectedHash}, current ${currentHash}. Read it again and retry.`,
        { path, currentHash, expectedHash },
      ),
    };
  }
  return { ok: true, mode: "updated", noop: currentHash === newHash, previousHash: currentHash };
}

export type DeleteDecision = { ok: true; existed: boolean; previousHash: string | null } | { ok: false; error: PfsError };

/** Deleting what is not there succeeds and changes nothing (idempotent). */
export function decideDelete(path: string, currentHash: string | null, expectedHash: string | undefined): DeleteDecision {
  if (currentHash === null) return { ok: true, existed: false, previousHash: null };
  if (expectedHash !== undefined && expectedHash !== currentHash) {
    return {
      ok: false,
      error: new PfsError(
        "CONFLICT",
        `"${path}" changed since you read it: expected ${expectedHash}, current ${currentHash}; it was not deleted.`,
        { path, currentHash, expectedHash },
      ),
    };
  }
  return { ok: true, existed: true, previousHash: currentHash };
}
