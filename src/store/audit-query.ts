import { PfsError } from "../errors/index.js";
import { queryAudit, type AuditRow } from "../journal/queries.js";
import { inJournal, type StoreContext } from "./context.js";

export interface AuditQuery {
  bookId?: string;
  /** Exact path, or a glob when it contains * or ? (`**` crosses folders, `*` does not). */
  path?: string;
  pathPrefix?: string;
  agentId?: string;
  operation?: string;
  userId?: string;
  /**
   * Only entries of these users (the base is BASE_USER): a caller that may not see every overlay passes
   * what it may see, so hidden entries are skipped in the query and never shape a page or its cursor.
   */
  visibleUsers?: readonly string[];
  status?: "ok" | "conflict" | "rejected" | "error";
  since?: Date | string;
  until?: Date | string;
  /** Page size, 1–1000 (default 100). */
  limit?: number;
  /** From a previous page's nextCursor. */
  cursor?: string;
}

export interface AuditPage {
  entries: AuditRow[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Bounds on a caller's path glob: each wildcard multiplies the work a regular expression may do. */
const GLOB_LIMITS = { maxLength: 256, maxWildcards: 8 } as const;

/**
 * Glob → anchored POSIX regular expression (for PostgreSQL's `~`), in one linear pass. A run of stars
 * collapses (`a/****` is `a/**`), so the expression never has two unbounded parts side by side.
 */
export function globToRegex(glob: string): string {
  let out = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      let run = 1;
      while (glob[i + 1] === "*") {
        run++;
        i++;
      }
      out += run > 1 ? ".*" : "[^/]*";
    } else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return `${out}$`;
}

/** Refuses globs whose matching cost could grow past a few wildcards (checked before any query). */
export function assertGlobBounded(glob: string): void {
  const wildcards = glob.replace(/\*+/g, "*").replace(/[^*?]/g, "").length;
  if (glob.length > GLOB_LIMITS.maxLength || wildcards > GLOB_LIMITS.maxWildcards) {
    throw new PfsError(
      "INVALID_ARGUMENT",
      `path globs may have at most ${GLOB_LIMITS.maxLength} characters and ${GLOB_LIMITS.maxWildcards} wildcards (* ** ?); got ${glob.length} characters and ${wildcards} wildcards.`,
    );
  }
}

function encodeCursor(id: number): string {
  return Buffer.from(`audit:${id}`).toString("base64url");
}

export function decodeCursor(cursor: string): number {
  const m = /^audit:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString());
  const id = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(id)) throw new PfsError("INVALID_ARGUMENT", "cursor is not one this store issued; pass nextCursor from a previous page.");
  return id;
}

function toDate(value: Date | string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = value instanceof Date ? value : new Date(value);
  // Years outside 1–9999 are valid in JavaScript but not in every database (or ISO 8601 without extensions).
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) {
    throw new PfsError("INVALID_ARGUMENT", `${name} is not a valid date (years 1 to 9999): ${JSON.stringify(value)}.`);
  }
  return d;
}

export async function auditOp(ctx: StoreContext, q: AuditQuery = {}): Promise<AuditPage> {
  const limit = q.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new PfsError("INVALID_ARGUMENT", "limit must be a whole number from 1 to 1000.");
  for (const key of ["bookId", "path", "pathPrefix", "agentId", "operation", "userId", "cursor"] as const) {
    const v = q[key];
    // eslint-disable-next-line no-control-regex
    if (v !== undefined && (typeof v !== "string" || v.length > 1024 || /[\u0000-\u001f\u007f]/.test(v))) {
      throw new PfsError("INVALID_ARGUMENT", `${key} must be text of at most 1024 characters without control characters.`);
    }
  }
  if (q.status !== undefined && !["ok", "conflict", "rejected", "error"].includes(q.status)) {
    throw new PfsError("INVALID_ARGUMENT", "status must be one of ok, conflict, rejected, error.");
  }
  const isGlob = q.path !== undefined && /[*?]/.test(q.path);
  if (isGlob) assertGlobBounded(q.path!);
  if (q.visibleUsers !== undefined && (!Array.isArray(q.visibleUsers) || !q.visibleUsers.every((u) => typeof u === "string"))) {
    throw new PfsError("INVALID_ARGUMENT", "visibleUsers must be a list of user ids.");
  }
  const entries = await inJournal(ctx, () => queryAudit(ctx.journal.db, {
    bookId: q.bookId,
    path: isGlob ? undefined : q.path,
    pathRegex: isGlob ? globToRegex(q.path!) : undefined,
    pathPrefix: q.pathPrefix,
    agentId: q.agentId,
    operation: q.operation,
    userId: q.userId,
    userIn: q.visibleUsers,
    status: q.status,
    since: toDate(q.since, "since"),
    until: toDate(q.until, "until"),
    beforeId: q.cursor !== undefined ? decodeCursor(q.cursor) : undefined,
    limit: limit + 1,
  }));
  const page = entries.slice(0, limit);
  return { entries: page, nextCursor: entries.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
}
