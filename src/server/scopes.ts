/**
 * What a token may do (least privilege), as pure decisions shared by the HTTP and MCP servers.
 * A scope names the books it may touch, the users whose overlays it may read and write, and three
 * switches: write the shared base book, read the audit log, run admin operations (verify).
 */
import { PfsError } from "../errors/index.js";
import { BASE_USER, assertAgentId, assertBookId, assertUserId } from "../paths/index.js";

/** `"*"` means all; a list means exactly those; an empty list means none. */
export type Grant = "*" | readonly string[];

export interface Scope {
  agentId: string;
  books: Grant;
  users: Grant;
  writeBase: boolean;
  audit: boolean;
  admin: boolean;
}

export type ScopeName = "books" | "users" | "writeBase" | "audit" | "admin";

export type Action =
  | { op: "read" | "list" | "snapshot" | "archive"; bookId: string; userId?: string }
  | { op: "write" | "delete"; bookId: string; userId?: string; path?: string }
  | { op: "plan"; bookId: string }
  | { op: "audit"; bookId?: string; userId?: string }
  | { op: "admin" };

export type Decision = { ok: true } | { ok: false; scope: ScopeName; message: string };

/** Full access: what every PFS_SERVER_TOKENS entry (and a bare `pfs mcp --agent`) gets. */
export function fullScope(agentId: string): Scope {
  return { agentId, books: "*", users: "*", writeBase: true, audit: true, admin: true };
}

export function grants(grant: Grant, id: string): boolean {
  return grant === "*" || grant.includes(id);
}

/** May this scope see overlays of `userId` (the base is never a user)? */
export function seesUser(scope: Scope, userId: string): boolean {
  return userId === BASE_USER || grants(scope.users, userId);
}

/** The users whose entries (audit, listings) a scope may see, or undefined for all. */
export function visibleUsers(scope: Scope): string[] | undefined {
  return scope.users === "*" ? undefined : [BASE_USER, ...scope.users];
}

function deny(scope: Scope, name: ScopeName, what: string): Decision {
  return { ok: false, scope: name, message: `token for agent ${scope.agentId} may not ${what} (scope: ${name})` };
}

const VERB: Record<Action["op"], string> = {
  read: "read",
  list: "list",
  snapshot: "snapshot",
  archive: "archive",
  write: "write",
  delete: "delete",
  plan: "plan builds of",
  audit: "read the audit log of",
  admin: "run admin operations",
};

/** The one authorization rule. Base reads need only the book; overlays need the user; base changes need writeBase. */
export function authorize(scope: Scope, action: Action): Decision {
  if (action.op === "admin") return scope.admin ? { ok: true } : deny(scope, "admin", VERB.admin);
  if (action.op === "audit") {
    if (!scope.audit) return deny(scope, "audit", "read the audit log");
    if (scope.books !== "*" && action.bookId === undefined) return deny(scope, "books", "read the audit log of all books; pass a book id");
  }
  const verb = VERB[action.op];
  if (action.bookId !== undefined && !grants(scope.books, action.bookId)) return deny(scope, "books", `${verb} book ${action.bookId}`);
  const userId = "userId" in action ? action.userId : undefined;
  const changes = action.op === "write" || action.op === "delete";
  if (userId !== undefined) {
    if (!grants(scope.users, userId)) return deny(scope, "users", `${verb} overlays of user ${userId}`);
  } else if (changes && !scope.writeBase) {
    return deny(scope, "writeBase", `${verb} the base book ${action.bookId}`);
  }
  return { ok: true };
}

function parseGrant(value: unknown, name: string, where: string, check: (id: string) => void): Grant {
  if (value === undefined) return [];
  if (value === "*") return "*";
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
    value.forEach(check);
    return [...value];
  }
  throw new PfsError("INVALID_ARGUMENT", `${where}: "${name}" must be "*" or a list of ids.`);
}

function parseFlag(value: unknown, name: string, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new PfsError("INVALID_ARGUMENT", `${where}: "${name}" must be true or false.`);
  return value;
}

/** One tokens-file entry without its token hash: books default to none, switches to false. */
export function parseScope(entry: Record<string, unknown>, where: string): Scope {
  const agentId = entry.agent;
  assertAgentId(agentId);
  return {
    agentId,
    books: parseGrant(entry.books, "books", where, assertBookId),
    users: parseGrant(entry.users, "users", where, (u) => assertUserId(u === BASE_USER ? "" : u)),
    writeBase: parseFlag(entry.writeBase, "writeBase", where),
    audit: parseFlag(entry.audit, "audit", where),
    admin: parseFlag(entry.admin, "admin", where),
  };
}
