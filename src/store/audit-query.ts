import { PfsError } from "../errors/index.js";
import { queryAudit, type AuditRow } from "../journal/queries.js";
import type { StoreContext } from "./context.js";

export interface AuditQuery {
  bookId?: string;
  /** Exact path, or a glob when it contains * or ? (`**` crosses folders, `*` does not). */
  path?: string;
  pathPrefix?: string;
  agentId?: string;
  operation?: string;
  userId?: string;
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

/** Glob → anchored POSIX regular expression (for PostgreSQL's `~`). */
export function globToRegex(glob: string): string {
  let out = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        out += ".*";
        i++;
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return `${out}$`;
}

export function encodeCursor(id: number): string {
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
  const entries = await queryAudit(ctx.journal.db, {
    bookId: q.bookId,
    path: isGlob ? undefined : q.path,
    pathRegex: isGlob ? globToRegex(q.path!) : undefined,
    pathPrefix: q.pathPrefix,
    agentId: q.agentId,
    operation: q.operation,
    userId: q.userId,
    status: q.status,
    since: toDate(q.since, "since"),
    until: toDate(q.until, "until"),
    beforeId: q.cursor !== undefined ? decodeCursor(q.cursor) : undefined,
    limit: limit + 1,
  });
  const page = entries.slice(0, limit);
  return { entries: page, nextCursor: entries.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
}
