/**
 * A lock holder or contender for the PID-namespace tests (run under `unshare --pid --fork`): uses only
 * the built lock module (dist/journal/lock-file.js).
 *   node lock-ns.mjs hold <lockPath>          takes the lock, prints {"held":true,"pid":…}, holds until killed
 *   node lock-ns.mjs try <lockPath> <waitMs>  tries once with that wait, prints {"held":…,"code":…}, lets go
 */
const { acquireLockFile } = await import(new URL("../../dist/journal/lock-file.js", import.meta.url).href);
const [mode, lockPath, waitMs] = process.argv.slice(2);

if (mode === "hold") {
  await acquireLockFile(lockPath, { waitMs: 0 });
  process.stdout.write(`${JSON.stringify({ held: true, pid: process.pid })}\n`);
  setInterval(() => {}, 1 << 30); // until killed
} else {
  try {
    const release = await acquireLockFile(lockPath, { waitMs: Number(waitMs) });
    process.stdout.write(`${JSON.stringify({ held: true, pid: process.pid })}\n`);
    await release();
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ held: false, code: err.code, pid: process.pid })}\n`);
  }
}
