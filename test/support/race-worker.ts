/**
 * A separate OS process with its own store (its own connection pool) for the multi-process race
 * test (R8). Driven over IPC: {type:"round", writes} → {type:"result", results}; {type:"close"}.
 */
import { openStore, isPfsError, type StoreOptions } from "../../src/index.js";

interface RoundWrite {
  bookId: string;
  path: string;
  expectedHash: string;
  content: string;
}

const options = JSON.parse(process.env.PFS_WORKER_OPTIONS ?? "{}") as StoreOptions;
const agentId = `racer-${process.env.PFS_WORKER_ID ?? process.pid}`;
const store = await openStore({ ...options, poolSize: 2 });
process.send!({ type: "ready" });

process.on("message", async (msg: { type: string; round?: number; writes?: RoundWrite[] }) => {
  if (msg.type === "close") {
    await store.close();
    process.disconnect();
    return;
  }
  const results = await Promise.all(
    msg.writes!.map(async (w) => {
      try {
        const r = await store.write({ ...w, agentId });
        return { path: w.path, bookId: w.bookId, ok: true, mode: r.mode, hash: r.hash, previousHash: r.previousHash };
      } catch (err) {
        return isPfsError(err)
          ? { path: w.path, bookId: w.bookId, ok: false, code: err.code, currentHash: err.currentHash ?? null, message: err.message }
          : { path: w.path, bookId: w.bookId, ok: false, code: "CRASH", message: String(err) };
      }
    }),
  );
  process.send!({ type: "result", round: msg.round, results });
});
