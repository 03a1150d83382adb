/**
 * What happens to a call its token may not make (shared by the HTTP and MCP servers):
 * - every refusal spends one call from the token's refusal bucket; an empty bucket answers RATE_LIMITED
 *   (429) and records nothing, so a token cannot grow any chain or log at the rate it can send;
 * - a refusal of a book outside the token's `books` is only counted (panaversityfs_refused_total): that
 *   book's chain is not the caller's to write in;
 * - a refusal within the token's books (users, writeBase, audit) goes on the book's audit chain, with its
 *   path bounded.
 */
import { PfsError } from "../errors/index.js";
import type { Store } from "../store/store.js";
import { TokenBuckets } from "./rate-limit.js";
import type { Action, Decision, Scope } from "./scopes.js";

/** Longest path kept in a refusal's audit entry; longer ones are cut and marked. */
export const REFUSAL_PATH_MAX = 256;

export interface RefusalLimits {
  /** Refused calls a token may make in a burst (default 30) and regains per second (default 1). */
  burst?: number;
  perSecond?: number;
}

export function refusalBuckets(limits: RefusalLimits = {}, now?: () => number): TokenBuckets {
  return new TokenBuckets({ capacity: limits.burst ?? 30, refillPerSecond: limits.perSecond ?? 1, now });
}

/** A caller-chosen path as it may appear in a refusal entry. Pure. */
export function boundedPath(path: string | undefined): string | undefined {
  if (path === undefined || path.length <= REFUSAL_PATH_MAX) return path;
  return `${path.slice(0, REFUSAL_PATH_MAX - 1)}…`;
}

/** Whether a refusal goes on the book's chain (only within the token's books). Pure. */
export function chainsRefusal(decision: Exclude<Decision, { ok: true }>): boolean {
  return decision.scope !== "books";
}

/** Records (or only counts) a refused call per the rules above, then throws FORBIDDEN or RATE_LIMITED. */
export async function refuse(
  store: Store,
  buckets: TokenBuckets,
  scope: Scope,
  action: Action,
  decision: Exclude<Decision, { ok: true }>,
  path?: string,
): Promise<never> {
  const error = new PfsError("FORBIDDEN", decision.message, { scope: decision.scope });
  if (!buckets.take(scope.agentId)) {
    store.countRefused(action.op, "RATE_LIMITED");
    const retryAfter = Math.max(1, buckets.retryAfterSeconds(scope.agentId));
    throw new PfsError("RATE_LIMITED", `token for agent ${scope.agentId} made too many refused calls; retry in ${retryAfter} s.`, { retryAfter });
  }
  const bookId = "bookId" in action ? action.bookId : undefined;
  if (bookId === undefined || !chainsRefusal(decision)) {
    store.countRefused(action.op, error.code);
    throw error;
  }
  const userId = "userId" in action ? action.userId : undefined;
  await store.recordRefused({ operation: action.op, bookId, path: boundedPath(path), userId, agentId: scope.agentId }, error);
  throw error;
}
