/** What every command shares: opening the store from global options, printing, and error handling. */
import type { Command } from "commander";
import type { Store } from "../store/store.js";
import type { StoreOptions } from "../store/config.js";
import { isPfsError, PfsError } from "../errors/index.js";
import { describeHolder } from "../journal/lock-file.js";

export interface GlobalOptions {
  databaseUrl?: string;
  dataDir?: string;
  storageDir?: string;
  mirror?: string;
  wait?: string;
  json?: boolean;
  overlayComponents?: string;
}

/** Options as openStore takes them; anything not given falls back to the environment (DATABASE_URL, PFS_*). */
export function storeOptions(g: GlobalOptions): StoreOptions {
  const options: StoreOptions = {};
  if (g.databaseUrl) options.databaseUrl = g.databaseUrl;
  if (g.dataDir) options.dataDir = g.dataDir;
  if (g.storageDir) options.storage = { kind: "local", dir: g.storageDir };
  if (g.mirror !== undefined) {
    if (g.mirror !== "assets" && g.mirror !== "all") throw new PfsError("INVALID_ARGUMENT", `--mirror must be "assets" or "all"; got ${JSON.stringify(g.mirror)}.`);
    options.mirror = g.mirror;
  }
  if (g.wait !== undefined) {
    const seconds = Number(g.wait);
    if (g.wait.trim() === "" || !Number.isFinite(seconds) || seconds < 0) throw new PfsError("INVALID_ARGUMENT", `--wait must be a number of seconds, 0 or more; got ${JSON.stringify(g.wait)}.`);
    options.lockWaitMs = seconds * 1000;
  }
  if (g.overlayComponents !== undefined) options.overlayComponents = g.overlayComponents.split(",");
  // Said once, on stderr, so --json output stays clean.
  options.onLockWait = (holder) => process.stderr.write(`Waiting for the embedded journal: it is held by ${describeHolder(holder)}.\n`);
  return options;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/**
 * Opens the store, runs `fn`, always closes. Only commands that write content pass `create: true`:
 * everything else fails on a missing embedded store instead of creating an empty one.
 */
export async function withStore<T>(cmd: Command, fn: (store: Store, g: GlobalOptions) => Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
  const g = globals(cmd);
  // The store's modules load when a command opens one: `--help`, `token` and folder-only commands start without them.
  const { withStore: withOpenStore } = await import("../store/store.js");
  return withOpenStore({ ...storeOptions(g), mustExist: !opts.create }, (store) => fn(store, g));
}

let printedJson = false;

export function printJson(value: unknown): void {
  printedJson = true;
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Exit codes, documented in `pfs --help`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, conflict: 3 } as const;

function exitCodeFor(err: unknown): number {
  if (isPfsError(err, "CONFLICT") || isPfsError(err, "HASH_REQUIRED")) return EXIT.conflict;
  if (isPfsError(err, "INVALID_ARGUMENT")) return EXIT.usage;
  return EXIT.failed;
}

/** `CODE: message` on stderr (and `{"error": …}` on stdout with --json) and the exit code for it. */
export function fail(err: unknown): never {
  // With --json, stdout holds exactly one document: the error, unless a report already went out (verify's).
  if (process.argv.includes("--json") && !printedJson) {
    const error = isPfsError(err) ? err.toJSON() : { code: "ERROR", message: err instanceof Error ? err.message : String(err) };
    process.stdout.write(`${JSON.stringify({ error })}\n`);
  }
  if (isPfsError(err)) {
    process.stderr.write(`${err.code}: ${err.message}\n`);
    if (err.currentHash) process.stderr.write(`current hash: ${err.currentHash}\n`);
  } else {
    process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(exitCodeFor(err));
}

export function wantsJson(cmd: Command): boolean {
  return Boolean(globals(cmd).json);
}

/** Wraps a command action so every failure ends as `CODE: message` with its exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      fail(err);
    }
  };
}
