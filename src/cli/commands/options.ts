/** Option parsing shared by several commands. */
import { PfsError } from "../../errors/index.js";
import { assertAgentId } from "../../paths/index.js";

export function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new PfsError("INVALID_ARGUMENT", `--grace must be a number of seconds, 0 or more; got ${JSON.stringify(value)}.`);
  return n;
}

/** `--agent <id>`, required by every command that changes something; checked as the store checks it. */
export function requireAgent(agent: string | undefined, command: string): string {
  if (agent === undefined || agent.trim() === "") {
    throw new PfsError("INVALID_ARGUMENT", `--agent <id> is required for pfs ${command}: every change records who made it.`);
  }
  assertAgentId(agent);
  return agent;
}

/** Commander collector for repeatable options (`--exclude a --exclude b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
