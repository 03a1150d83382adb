// Runs s3rver in its own process (it needs --openssl-legacy-provider for ListObjectsV2
// continuation tokens). Usage: node --openssl-legacy-provider s3rver-launcher.mjs <dir> [bucket…]
// Prints one JSON line {"port": n} once listening; exits when its parent closes stdin,
// so a test run that dies (even by SIGKILL) never leaves the server behind. With --ephemeral
// (what the tests pass) it also removes its data folder on the way out.
import { rmSync } from "node:fs";
import S3rver from "s3rver";

const args = process.argv.slice(2);
const ephemeral = args.includes("--ephemeral");
const [directory, ...buckets] = args.filter((a) => a !== "--ephemeral");
if (!directory) {
  console.error("usage: s3rver-launcher.mjs [--ephemeral] <directory> [bucket…]");
  process.exit(2);
}
const server = new S3rver({
  address: "127.0.0.1",
  port: Number(process.env.PFS_S3RVER_PORT ?? 0),
  directory,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

const exit = () => {
  if (ephemeral) rmSync(directory, { recursive: true, force: true });
  process.exit(0);
};
const stop = () => {
  server.close().finally(exit);
  setTimeout(exit, 2000).unref();
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
