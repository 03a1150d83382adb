/**
 * Process-wide state of the plugin. Docusaurus loads plugin modules fresh for each locale (and on
 * reloads), so this lives on globalThis: every locale and reload of one cache shares one load promise
 * ("fetch once per process"), and the store is never opened twice at once by the same process.
 */
import type { SyncResult } from "./sync.js";

interface Entry {
  load?: Promise<SyncResult>;
  /** Fingerprint of the last completed load. */
  fingerprint?: string;
  /** Serializes store access (load and polls) for this cache. */
  queue: Promise<unknown>;
  poller?: NodeJS.Timeout;
}

const KEY = Symbol.for("panaversity-fs.docusaurus.state");

function entries(): Map<string, Entry> {
  const g = globalThis as { [KEY]?: Map<string, Entry> };
  return (g[KEY] ??= new Map());
}

function entry(key: string): Entry {
  let e = entries().get(key);
  if (!e) entries().set(key, (e = { queue: Promise.resolve() }));
  return e;
}

/** Runs `fn` after every earlier serialized task of this key. */
export function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const e = entry(key);
  const run = e.queue.then(fn, fn);
  e.queue = run.catch(() => {});
  return run;
}

/** The current load of this cache, started by the first caller; a failed load is not remembered. */
export function loadOnce(key: string, run: () => Promise<SyncResult>): Promise<SyncResult> {
  const e = entry(key);
  if (!e.load) {
    const load = serialized(key, run).then((result) => {
      e.fingerprint = result.fingerprint;
      return result;
    });
    e.load = load;
    load.catch(() => {
      if (e.load === load) e.load = undefined;
    });
  }
  return e.load;
}

/** The next loadOnce starts a new load (the store changed). */
export function invalidate(key: string): void {
  entry(key).load = undefined;
}

export function lastFingerprint(key: string): string | undefined {
  return entry(key).fingerprint;
}

export interface PollerOptions {
  intervalMs: number;
  /** Reads the store's current fingerprint. */
  poll: () => Promise<string>;
  /** Called once per detected change, after the load was invalidated. */
  onChange: (fingerprint: string) => Promise<void>;
  onError: (err: unknown) => void;
}

/** Polls the store for this cache (at most one poller per key per process). */
export function startPoller(key: string, opts: PollerOptions): void {
  const e = entry(key);
  if (e.poller) return;
  let busy = false;
  let failing = false;
  e.poller = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        if (e.load) await e.load.catch(() => {});
        const fingerprint = await serialized(key, opts.poll);
        failing = false;
        if (e.fingerprint !== undefined && fingerprint !== e.fingerprint) {
          invalidate(key);
          e.fingerprint = fingerprint;
          await opts.onChange(fingerprint);
        }
      } catch (err) {
        if (!failing) opts.onError(err);
        failing = true;
      } finally {
        busy = false;
      }
    })();
  }, opts.intervalMs);
  e.poller.unref();
}

export function stopPoller(key: string): void {
  const e = entries().get(key);
  if (e?.poller) clearInterval(e.poller);
  if (e) e.poller = undefined;
}
