/**
 * A writer that streams a large asset and stalls half-way (it has sent HALF_MB and sends no more),
 * then says "HALF" so the test can SIGKILL it in the middle of the upload. Runs the built store (dist/).
 * Env: PFS_WORKER_OPTIONS (openStore options as JSON).
 */
import { Readable } from "node:stream";

const { openStore } = await import(new URL("../../dist/index.js", import.meta.url).href);
const HALF_MB = 24;
const store = await openStore(JSON.parse(process.env.PFS_WORKER_OPTIONS));
let sent = 0;
const chunk = Buffer.alloc(1024 * 1024, 7);
const body = new Readable({
  read() {
    if (sent < HALF_MB) {
      sent++;
      chunk.writeUInt32BE(sent, 0);
      this.push(Buffer.from(chunk));
      if (sent === HALF_MB) setTimeout(() => process.stdout.write("HALF\n"), 200); // let the bytes reach the file
    }
    // After HALF_MB: push nothing, so the upload hangs mid-way until the kill.
  },
});
await store.write({ bookId: "stale-book", path: "static/videos/lecture.bin", content: body, agentId: "uploader" });
process.stdout.write("FINISHED\n"); // never reached: the parent fails the test if it sees this
