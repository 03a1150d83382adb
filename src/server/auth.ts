import { timingSafeEqual } from "node:crypto";
import { PfsError } from "../errors/index.js";
import { assertAgentId } from "../paths/index.js";

/** token → agent id. The agent of every change comes from here, never from the request body. */
export type TokenTable = ReadonlyMap<string, string>;

/** Parses `agent-a=token1,agent-b=token2` (the PFS_SERVER_TOKENS format). */
export function parseTokens(spec: string | undefined): TokenTable {
  const table = new Map<string, string>();
  for (const pair of (spec ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    const agent = pair.slice(0, eq).trim();
    const token = pair.slice(eq + 1).trim();
    if (eq <= 0 || token.length < 16) {
      throw new PfsError("INVALID_ARGUMENT", "PFS_SERVER_TOKENS entries look like agent-id=token, with tokens of at least 16 characters.");
    }
    assertAgentId(agent);
    table.set(token, agent);
  }
  return table;
}

/** Resolves `Authorization: Bearer <token>` to an agent id, comparing in constant time. */
export function agentFor(tokens: TokenTable, authorization: string | undefined): string {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!m) throw new PfsError("UNAUTHORIZED", "Send Authorization: Bearer <token>; the token names the agent that acts.");
  const given = Buffer.from(m[1]!);
  for (const [token, agent] of tokens) {
    const known = Buffer.from(token);
    if (known.length === given.length && timingSafeEqual(known, given)) return agent;
  }
  throw new PfsError("UNAUTHORIZED", "The bearer token is not known to this server.");
}
