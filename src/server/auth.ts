import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { PfsError } from "../errors/index.js";
import { assertAgentId } from "../paths/index.js";
import { fullScope, parseScope, type Scope } from "./scopes.js";

/** Known tokens by their SHA-256 only: the server never holds a token in the clear. */
export interface TokenEntry {
  hash: Buffer;
  scope: Scope;
}
export type TokenTable = readonly TokenEntry[];

const MIN_TOKEN = 16;

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A fresh random token (256 bits, base64url). */
export function newToken(): string {
  return `pfs_${randomBytes(32).toString("base64url")}`;
}

/** Parses `agent-a=token1,agent-b=token2` (the PFS_SERVER_TOKENS format): each entry has full access. */
export function parseTokens(spec: string | undefined): TokenEntry[] {
  const table: TokenEntry[] = [];
  for (const pair of (spec ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    const agent = pair.slice(0, eq).trim();
    const token = pair.slice(eq + 1).trim();
    if (eq <= 0 || token.length < MIN_TOKEN) {
      throw new PfsError("INVALID_ARGUMENT", "PFS_SERVER_TOKENS entries look like agent-id=token, with tokens of at least 16 characters.");
    }
    assertAgentId(agent);
    table.push({ hash: Buffer.from(hashToken(token), "hex"), scope: fullScope(agent) });
  }
  return table;
}

/**
 * Parses a tokens file: `{ "tokens": [ { "agent", "sha256", "books", "users", "writeBase", "audit", "admin" } ] }`
 * (a bare array works too). `sha256` is the hex SHA-256 of the token (`pfs token new` prints both).
 */
export function parseTokensFile(text: string, name = "tokens file"): TokenEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PfsError("INVALID_ARGUMENT", `The ${name} is not valid JSON.`);
  }
  const list = Array.isArray(json) ? json : (json as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list)) throw new PfsError("INVALID_ARGUMENT", `The ${name} must hold {"tokens": [...]}.`);
  const seen = new Set<string>();
  return list.map((entry: unknown, i) => {
    const where = `${name}, entry ${i + 1}`;
    if (typeof entry !== "object" || entry === null) throw new PfsError("INVALID_ARGUMENT", `${where}: expected an object.`);
    const e = entry as Record<string, unknown>;
    if (typeof e.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.sha256)) {
      throw new PfsError("INVALID_ARGUMENT", `${where}: "sha256" must be the lowercase hex SHA-256 of the token (see pfs token new).`);
    }
    if (seen.has(e.sha256)) throw new PfsError("INVALID_ARGUMENT", `${where}: the same token hash appears twice.`);
    seen.add(e.sha256);
    return { hash: Buffer.from(e.sha256, "hex"), scope: parseScope(e, where) };
  });
}

/**
 * Resolves a presented token to its scope. The token is hashed first, so every comparison is
 * timingSafeEqual on two 32-byte digests whatever the token's length, and every entry is compared.
 */
export function scopeForToken(tokens: TokenTable, token: string): Scope {
  const given = createHash("sha256").update(token, "utf8").digest();
  let found: Scope | undefined;
  for (const entry of tokens) {
    if (timingSafeEqual(entry.hash, given) && !found) found = entry.scope;
  }
  if (!found) throw new PfsError("UNAUTHORIZED", "The bearer token is not known to this server.");
  return found;
}

/** Resolves `Authorization: Bearer <token>` to the caller's scope. */
export function scopeFor(tokens: TokenTable, authorization: string | undefined): Scope {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!m) throw new PfsError("UNAUTHORIZED", "Send Authorization: Bearer <token>; the token names the agent that acts.");
  return scopeForToken(tokens, m[1]!);
}

/** The agent id of a bearer token (kept for callers that need only who acts). */
export function agentFor(tokens: TokenTable, authorization: string | undefined): string {
  return scopeFor(tokens, authorization).agentId;
}
