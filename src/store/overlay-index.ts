/**
 * The book's overlay index for readers (DESIGN 4.10): every user's overlay rows of one book, and what
 * changed since a version of them, so the reader endpoints can keep the index in memory and ask the
 * journal one cheap indexed question per book per interval instead of one listing per request.
 */
import { assertBookId, BASE_USER } from "../paths/index.js";
import { bookSeq, chainStepsAfter, overlayRows, type ChainStep, type OverlayRow } from "../journal/overlay-index-queries.js";
import { inJournal, type StoreContext } from "./context.js";

export type { OverlayRow } from "../journal/overlay-index-queries.js";

/** What to do about the chain entries after the index's version. */
export type RefreshPlan = { kind: "same" } | { kind: "full" } | { kind: "users"; seq: number; users: string[] };

/** Changes of a book since `afterSeq`: nothing, a whole new index, or new rows for the users who changed. */
export type OverlayChanges =
  | { kind: "same" }
  | { kind: "full"; seq: number; rows: OverlayRow[] }
  | { kind: "users"; seq: number; users: string[]; rows: OverlayRow[] };

/** Chain entries read per refresh; more than this since the last one and the whole index is read again. */
export const MAX_STEPS = 500;

/**
 * Pure: from the chain entries after the index's version, which users' rows to read again. Only successful
 * writes and deletes of an overlay name one user's rows; any other successful entry (a book removed, an
 * operation this version does not know) or too many entries → read everything. Refusals change nothing.
 */
export function planRefresh(steps: readonly ChainStep[], limit = MAX_STEPS): RefreshPlan {
  if (steps.length === 0) return { kind: "same" };
  if (steps.length >= limit) return { kind: "full" };
  const users = new Set<string>();
  for (const s of steps) {
    if (s.status !== "ok") continue;
    if (s.operation !== "write" && s.operation !== "delete") return { kind: "full" };
    if (s.userId !== BASE_USER) users.add(s.userId);
  }
  return { kind: "users", seq: steps[steps.length - 1]!.bookSeq, users: [...users].sort() };
}

/** The whole index. The version is read first: rows read after it are at least as new, never older. */
export async function overlayIndexOp(ctx: StoreContext, bookId: string): Promise<{ seq: number; rows: OverlayRow[] }> {
  assertBookId(bookId);
  const db = ctx.journal.db;
  return inJournal(ctx, async () => {
    const seq = await bookSeq(db, bookId);
    return { seq, rows: await overlayRows(db, bookId) };
  });
}

/** One indexed query when nothing changed (the common case); the changed users' rows when a few did. */
export async function overlayChangesOp(ctx: StoreContext, bookId: string, afterSeq: number): Promise<OverlayChanges> {
  assertBookId(bookId);
  const db = ctx.journal.db;
  const plan = planRefresh(await inJournal(ctx, () => chainStepsAfter(db, bookId, afterSeq, MAX_STEPS)));
  if (plan.kind === "same") return plan;
  if (plan.kind === "full") return { kind: "full", ...(await overlayIndexOp(ctx, bookId)) };
  const rows = plan.users.length ? await inJournal(ctx, () => overlayRows(db, bookId, plan.users)) : [];
  return { ...plan, rows };
}
