/**
 * Imported first by main.ts (ESM evaluates imports in order).
 * - The AWS SDK's Node-version notice would otherwise be printed by every `pfs` call (see blobs/s3.ts).
 * - A reader that stops early (`pfs ls … | head`) closes the pipe: that is the reader's choice, not a
 *   failure, so the command ends quietly instead of dying with an EPIPE stack trace.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}
