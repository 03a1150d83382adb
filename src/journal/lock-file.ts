import { hostname } from "node:os";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { PfsError } from "../errors/index.js";

interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** Folders this process holds, so a second open in the same process is refused too. */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * An exclusive lock file that records its holder. PGlite loses writes silently when two processes
 * open one data folder, so the embedded journal refuses to open while a live holder exists.
 * A lock left by a dead process (same host) is taken over.
 */
export async function acquireLockFile(lockPath: string): Promise<() => Promise<void>> {
  await mkdir(dirname(lockPath), { recursive: true });
  if (heldHere.has(lockPath)) throw lockedError(lockPath, { pid: process.pid, host: hostname(), since: "earlier in this process" });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockPath, "wx");
      const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      heldHere.add(lockPath);
      return async () => {
        heldHere.delete(lockPath);
        await rm(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = await readHolder(lockPath);
    const stale = holder && holder.host === hostname() && holder.pid !== process.pid && !isAlive(holder.pid);
    if (!holder || stale) {
      // Unreadable (a crash mid-write) or a dead holder on this machine: take it over.
      await rm(lockPath, { force: true });
      continue;
    }
    throw lockedError(lockPath, holder);
  }
  throw new PfsError("JOURNAL_UNAVAILABLE", `Could not take the journal lock ${lockPath}.`, { lockPath });
}

async function readHolder(lockPath: string): Promise<Holder | null> {
  try {
    const parsed = JSON.parse(await readFile(lockPath, "utf8")) as Holder;
    return typeof parsed.pid === "number" ? parsed : null;
  } catch {
    return null;
  }
}

function lockedError(lockPath: string, holder: Holder): PfsError {
  return new PfsError(
    "JOURNAL_UNAVAILABLE",
    `The embedded journal is already open by process ${holder.pid} on ${holder.host} (since ${holder.since}); ` +
      `lock file ${lockPath}. Close that process first, or use a PostgreSQL server (DATABASE_URL) for shared access.`,
    { lockPath, holderPid: holder.pid, holderHost: holder.host },
  );
}
