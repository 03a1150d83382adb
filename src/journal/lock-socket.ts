/**
 * Liveness of a lock holder that pids cannot fake: the holder listens on a Unix domain socket beside
 * the lock file, and the kernel closes that socket when the process dies, whatever PID namespace or
 * container it runs in. A contender connects: refused or absent means the holder is dead; connected
 * (or anything it cannot judge) means alive. The kernel accepts the connection into the backlog even
 * while the holder's event loop is busy (a fresh PGlite initdb), so a busy holder is never "dead".
 */
import { createConnection, createServer, type Server } from "node:net";
import { unlink } from "node:fs/promises";

/** sun_path holds 108 bytes on Linux (104 on macOS) including the NUL. */
const MAX_SOCKET_PATH_BYTES = 103;
const PROBE_TIMEOUT_MS = 2_000;

export interface LivenessSocket {
  path: string;
  close(): Promise<void>;
}

/** The socket path for one acquisition; null when the folder's path is too long for a socket. */
export function socketPathFor(lockPath: string, nonce: string): string | null {
  const path = `${lockPath}.${nonce.replace(/-/g, "").slice(0, 12)}.sock`;
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES ? path : null;
}

/** Listens at `path` (removing nothing: the name is new per acquisition); null if the OS refuses. */
export async function listenLiveness(path: string): Promise<LivenessSocket | null> {
  const server: Server = createServer((conn) => conn.destroy());
  const ok = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(path, () => resolve(true));
  });
  if (!ok) return null;
  server.unref(); // the lock never keeps a process alive
  return {
    path,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => unlink(path).catch(() => {})),
  };
}

export type Probe = "alive" | "dead";

/** Connects to a holder's socket: ECONNREFUSED / ENOENT mean nobody listens (the holder died). */
export function probeLiveness(path: string): Promise<Probe> {
  return new Promise((resolve) => {
    const conn = createConnection(path);
    const done = (p: Probe) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(p);
    };
    const timer = setTimeout(() => done("alive"), PROBE_TIMEOUT_MS);
    conn.once("connect", () => done("alive"));
    conn.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" || err.code === "ENOENT" ? "dead" : "alive"));
  });
}
