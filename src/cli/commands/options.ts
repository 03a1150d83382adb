/** Option parsing shared by several commands. */
import { PfsError } from "../../errors/index.js";

export function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new PfsError("INVALID_ARGUMENT", `--grace must be a number of seconds, 0 or more; got ${JSON.stringify(value)}.`);
  return n;
}
