/** What every command shares: opening the store from global options, printing, and error handling. */
import type { Command } from "commander";
import { openStore, type Store } from "../store/store.js";
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
  // Said once, on stderr, so --json output stays clean.
  options.onLockWait = (holder) => process.stderr.write(`Waiting for the embedded journal: it is held by ${describeHolder(holder)}.\n`);
  return options;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Opens the store, runs `fn`, always closes. */
export async function withStore<T>(cmd: Command, fn: (store: Store, g: GlobalOptions) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  const store = await openStore(storeOptions(g));
  try {
    return await fn(store, g);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `CODE: message` on stderr and a non-zero exit code. */
export function fail(err: unknown): never {
  if (isPfsError(err)) {
    process.stderr.write(`${err.code}: ${err.message}\n`);
    if (err.currentHash) process.stderr.write(`current hash: ${err.currentHash}\n`);
  } else {
    process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
}

/** Wraps a command action so every failure ends as `CODE: message` with exit 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      fail(err);
    }
  };
}
