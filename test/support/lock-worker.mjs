/**
 * A small process that runs only the built lock module (dist/journal/lock-file.js), so hundreds of
 * two-process trials stay fast. For each trial message it spins until the agreed start instant, takes
 * the lock, marks "I hold it" with an O_EXCL marker file (which fails if the other process holds it
 * too), holds briefly, and lets go.
 */
import { closeSync, openSync, unlinkSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const { acquireLockFile } = await import(new URL("../../dist/journal/lock-file.js", import.meta.url).href);
const now = () => performance.timeOrigin + performance.now();

process.on("message", async ({ lockPath, marker, at, holdMs }) => {
  while (now() < at); // spin: both processes reach acquireLockFile within microseconds of each other
  let result;
  try {
    const release = await acquireLockFile(lockPath, { waitMs: 10_000 });
    let double = false;
    try {
      closeSync(openSync(marker, "wx"));
    } catch {
      double = true;
    }
    await sleep(holdMs);
    if (!double) unlinkSync(marker);
    await release();
    result = { held: true, double };
  } catch (err) {
    result = { held: false, code: err.code, message: String(err.message) };
  }
  process.send(result);
});
process.send({ ready: true });
