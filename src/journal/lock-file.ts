/**
 * The embedded journal's folder lock. PGlite loses writes silently when two processes open one data
 * folder, so one process at a time holds `<dir>.lock`; the others wait for it.
 *
 * Why it is safe (each step is one atomic file-system call):
 * - Taking: the holder JSON is written to a private temp file, which is then hard-linked to the lock
 *   path. `link` fails with EEXIST when the lock exists, so the lock never exists without its holder.
 * - Taking over a dead holder's lock: a contender links the lock to a claim name derived from the
 *   dead holder's nonce (`<lock>.<nonce>.claim`). Only one contender can create that name; it then
 *   reads the claimed file and removes the lock only if it is still the dead holder's (same nonce).
 *   Nobody else removes a lock file, so the file it removes is the one it checked, never a fresh
 *   lock that replaced it. The winner then takes the lock like anyone else (link, may lose again).
 * - A claim left by a contender that died in those few milliseconds is removed after CLAIM_TTL_MS.
 * - Dead or alive is decided by the holder's liveness socket (lock-socket.ts), listened on before the
 *   lock is linked and closed after it is removed: a holder in another PID namespace or container
 *   whose pid means nothing here is still seen alive, and a dead one is seen dead whatever its host
 *   name. Holders without a socket (older versions, a folder path too long for a socket) fall back
 *   to "a dead pid on this host".
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { link, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PfsError } from "../errors/index.js";
import { listenLiveness, probeLiveness, socketPathFor, type LivenessSocket } from "./lock-socket.js";

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  /** Unique per acquisition: tells two holders apart even when a pid or an inode is reused. */
  nonce: string;
  /** The holder's liveness socket, a file name beside the lock (absent: judge by pid and host). */
  socket?: string;
  /** The holder is creating a fresh store (initdb: tens of seconds on a busy machine): waiters wait longer. */
  initializing?: boolean;
}

export interface LockOptions {
  /** How long to wait for a live holder to let go (default 60 s: a fresh store's initdb on a busy machine; 0 fails at once). */
  waitMs?: number;
  /** This process is about to create a fresh store: waiters give it INIT_WAIT_MS instead of their waitMs. */
  initializing?: boolean;
  /** Called once, when the lock is found held by a live process and waiting starts. */
  onWait?: (holder: LockHolder, lockPath: string) => void;
}

export const DEFAULT_LOCK_WAIT_MS = 60_000;
/** How long a waiter waits for a live holder that is creating a fresh store (at least its own waitMs). */
export const INIT_WAIT_MS = 10 * 60_000;
const CLAIM_TTL_MS = 10_000;
/** A lock file without a readable holder cannot be left by this code mid-write; give old versions this long. */
const UNREADABLE_GRACE_MS = 2_000;
const FIRST_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 200;

/** Folders this process holds, so a second open in the same process is refused at once (it would wait for itself). */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/** Pure: may this holder's lock be taken over? Only a dead process on this machine (pids elsewhere mean nothing). */
export function isStale(holder: LockHolder, here = hostname(), alive: (pid: number) => boolean = isAlive): boolean {
  return holder.host === here && holder.pid !== process.pid && !alive(holder.pid);
}

const SOCKET_NAME = /^[A-Za-z0-9._-]{1,200}\.sock$/;

/** The holder's socket path, when it names a valid one beside the lock. */
function holderSocket(lockPath: string, holder: LockHolder): string | null {
  return holder.socket !== undefined && SOCKET_NAME.test(holder.socket) ? join(dirname(lockPath), holder.socket) : null;
}

/** Dead holder? By its liveness socket when it has one (pids mean nothing across namespaces), else by pid on this host. */
async function holderIsDead(lockPath: string, holder: LockHolder): Promise<boolean> {
  const socket = holderSocket(lockPath, holder);
  if (socket !== null) return (await probeLiveness(socket)) === "dead";
  return isStale(holder);
}

export async function acquireLockFile(lockPath: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const waitMs = opts.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new PfsError("INVALID_ARGUMENT", "lockWaitMs must be a number of milliseconds, 0 or more.");
  await mkdir(dirname(lockPath), { recursive: true, mode: 0o700 });
  if (heldHere.has(lockPath)) throw lockedError(lockPath, { pid: process.pid, host: hostname(), since: "earlier in this process", nonce: "" }, 0);
  const socketPath = socketPathFor(lockPath, randomUUID());
  const liveness = socketPath === null ? null : await listenLiveness(socketPath);
  try {
    const mine = await waitAndTake(lockPath, waitMs, liveness, opts);
    heldHere.add(lockPath);
    return () => release(lockPath, mine, liveness);
  } catch (err) {
    await liveness?.close();
    throw err;
  }
}

async function waitAndTake(lockPath: string, waitMs: number, liveness: LivenessSocket | null, opts: LockOptions): Promise<LockHolder> {
  const started = Date.now();
  let backoff = FIRST_BACKOFF_MS;
  let told = false;
  for (;;) {
    const mine = await tryCreate(lockPath, liveness, opts.initializing === true);
    if (mine) return mine;
    const seen = await readHolder(lockPath);
    const initializing = typeof seen === "object" && seen.initializing === true && waitMs > 0;
    const deadline = started + (initializing ? Math.max(waitMs, INIT_WAIT_MS) : waitMs);
    if (seen === "absent") continue; // released between our link and our read: try again at once
    if (seen === "unreadable") {
      if (await olderThan(lockPath, UNREADABLE_GRACE_MS)) await removeUnreadable(lockPath);
    } else if (await holderIsDead(lockPath, seen)) {
      if (await takeOver(lockPath, seen)) continue;
    } else if (!told && waitMs > 0) {
      // Said once even when probing the holder took the whole wait (a loaded machine): the error then names it too.
      told = true;
      opts.onWait?.(seen, lockPath);
    }
    if (Date.now() >= deadline) {
      if (seen !== "unreadable") throw lockedError(lockPath, seen, waitMs);
      throw new PfsError("JOURNAL_UNAVAILABLE", `The journal lock ${lockPath} has no readable holder; remove it if no process uses the journal.`, { lockPath });
    }
    await sleep(Math.max(1, Math.min(backoff, deadline - Date.now()) * (0.5 + Math.random() / 2)));
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
}

/** Makes the lock appear with its holder in one step; null when someone holds it. */
async function tryCreate(lockPath: string, liveness: LivenessSocket | null, initializing: boolean): Promise<LockHolder | null> {
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    nonce: randomUUID(),
    ...(liveness ? { socket: basename(liveness.path) } : {}),
    ...(initializing ? { initializing } : {}),
  };
  const tmp = `${lockPath}.${me.nonce}.tmp`;
  await writeFile(tmp, JSON.stringify(me), { flag: "wx", mode: 0o600 });
  try {
    await link(tmp, lockPath);
    return me;
  } catch (err) {
    if (code(err) === "EEXIST") return null;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Removes the stale lock if this process wins the claim on it; true when it was removed. */
async function takeOver(lockPath: string, stale: LockHolder): Promise<boolean> {
  const claim = `${lockPath}.${stale.nonce || "none"}.claim`;
  try {
    await link(lockPath, claim);
  } catch (err) {
    // EEXIST: another contender is taking it over (or died doing so: its claim expires).
    if (code(err) === "EEXIST" && (await olderThan(claim, CLAIM_TTL_MS, "ctime"))) await unlink(claim).catch(() => {});
    return false;
  }
  try {
    const claimed = await readHolder(claim);
    // We may have linked a fresh lock that replaced the stale one: then it is not ours to remove.
    if (typeof claimed !== "object" || claimed.nonce !== stale.nonce || claimed.pid !== stale.pid) return false;
    await unlink(lockPath);
    const socket = holderSocket(lockPath, stale);
    if (socket !== null) await unlink(socket).catch(() => {}); // the dead holder's socket file
    return true;
  } finally {
    await unlink(claim).catch(() => {});
  }
}

/** A lock without a holder can only come from an older version or a damaged disk; removed via a claim like a stale one. */
async function removeUnreadable(lockPath: string): Promise<void> {
  const claim = `${lockPath}.unreadable.claim`;
  try {
    await link(lockPath, claim);
  } catch (err) {
    if (code(err) === "EEXIST" && (await olderThan(claim, CLAIM_TTL_MS, "ctime"))) await unlink(claim).catch(() => {});
    return;
  }
  try {
    if ((await readHolder(claim)) === "unreadable") await unlink(lockPath);
  } finally {
    await unlink(claim).catch(() => {});
  }
}

/** The lock goes first, the liveness socket after: a crash in between leaves a lock whose holder is seen dead. */
async function release(lockPath: string, me: LockHolder, liveness: LivenessSocket | null): Promise<void> {
  heldHere.delete(lockPath);
  const current = await readHolder(lockPath);
  if (typeof current === "object" && current.nonce === me.nonce) await unlink(lockPath).catch(() => {});
  await liveness?.close();
}

async function olderThan(path: string, ms: number, field: "mtime" | "ctime" = "mtime"): Promise<boolean> {
  try {
    const s = await stat(path);
    return Date.now() - (field === "ctime" ? s.ctimeMs : s.mtimeMs) > ms;
  } catch {
    return false;
  }
}

export async function readHolder(lockPath: string): Promise<LockHolder | "absent" | "unreadable"> {
  let text: string;
  try {
    text = await readFile(lockPath, "utf8");
  } catch (err) {
    if (code(err) === "ENOENT") return "absent";
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as LockHolder;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string") return "unreadable";
    const holder: LockHolder = { pid: parsed.pid, host: parsed.host, since: String(parsed.since), nonce: typeof parsed.nonce === "string" ? parsed.nonce : "" };
    if (typeof parsed.socket === "string") holder.socket = parsed.socket;
    if (parsed.initializing === true) holder.initializing = true;
    return holder;
  } catch {
    return "unreadable";
  }
}

export function describeHolder(holder: LockHolder): string {
  return `process ${holder.pid} on ${holder.host} (since ${holder.since})`;
}

function lockedError(lockPath: string, holder: LockHolder, waitedMs: number): PfsError {
  const waited = waitedMs > 0 ? ` after waiting ${(waitedMs / 1000).toFixed(1)} s` : "";
  return new PfsError(
    "JOURNAL_UNAVAILABLE",
    `The embedded journal is held by ${describeHolder(holder)}${waited}; lock file ${lockPath}. ` +
      `Close that process or wait longer (lockWaitMs, pfs --wait <seconds>), or use a PostgreSQL server (DATABASE_URL) for shared access.`,
    { lockPath, holderPid: holder.pid, holderHost: holder.host, holderSince: holder.since },
  );
}
