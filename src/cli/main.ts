#!/usr/bin/env node
/** pfs: the PanaversityFS command line. Store options come from flags, else the environment (DATABASE_URL, PFS_*). */
import "./bootstrap.js";
import { Command, CommanderError } from "commander";
import { registerFileCommands } from "./commands/files.js";
import { registerOpsCommands } from "./commands/ops.js";
import { registerServeCommand } from "./commands/serve.js";
import { registerMcpCommand } from "./commands/mcp.js";
import { registerTokenCommand } from "./commands/tokens.js";
import { registerImportCommand } from "./commands/import.js";
import { registerExportCommand } from "./commands/export.js";
import { registerValidateCommand } from "./commands/validate.js";
import { registerBookCommands } from "./commands/book-ops.js";
import { EXIT } from "./context.js";
import { createRequire } from "node:module";

// dist/cli/main.js and src/cli/main.ts are both two levels below package.json.
const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

const program = new Command()
  .name("pfs")
  .description("PanaversityFS: content store for AI-written books")
  .version(version, "-V, --version")
  .option("--database-url <url>", "postgres://… journal (default: $DATABASE_URL, else embedded PGlite in the data dir)")
  .option("--data-dir <dir>", "embedded journal and default object folder (default: $PFS_DATA_DIR or .panaversity)")
  .option("--storage-dir <dir>", "local object folder (default: S3 from $PFS_S3_* if set, else <data-dir>/objects)")
  .option("--mirror <mode>", "the public mirror is on (assets | all): writes update it, verify checks it, repair rebuilds it")
  .option("--overlay-components <names>", "components an overlay may use, comma-separated (default: $PFS_OVERLAY_COMPONENTS); overlays are otherwise plain markdown")
  .option("--wait <seconds>", "embedded journal: how long to wait while another process holds it (default 60)")
  .option("--json", "machine-readable output: one JSON document on stdout (errors as {\"error\": {code, message}})")
  .showHelpAfterError()
  .addHelpText(
    "after",
    `
Exit codes: ${EXIT.ok} ok, ${EXIT.failed} failed (or files skipped / problems found), ${EXIT.usage} usage error, ${EXIT.conflict} conflict (CONFLICT, HASH_REQUIRED).
Only import and write create a store; every other command fails with NOT_FOUND when --data-dir holds none,
and a command naming an unknown book fails with NOT_FOUND listing the books that exist.
Progress bars are drawn on stderr when it is a terminal.`,
  )
  .exitOverride()
  .configureOutput({ outputError: (str, write) => usageError(str.replace(/^error: /, ""), write) });

/** Commander's usage errors as ours: `INVALID_ARGUMENT: …` on stderr, and with --json also `{"error": …}` on stdout. */
function usageError(message: string, write: (s: string) => void): void {
  if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify({ error: { code: "INVALID_ARGUMENT", message: message.trim() } })}\n`);
  write(`INVALID_ARGUMENT: ${message}`);
}

registerImportCommand(program);
registerExportCommand(program);
registerValidateCommand(program);
registerFileCommands(program);
registerBookCommands(program);
registerOpsCommands(program);
registerServeCommand(program);
registerMcpCommand(program);
registerTokenCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander throws for --help/--version (exit 0) and for usage errors (already printed): exit 2 for the latter.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  throw err;
}
