#!/usr/bin/env node
/** pfs: the PanaversityFS command line. Store options come from flags, else the environment (DATABASE_URL, PFS_*). */
import { Command } from "commander";
import { registerFileCommands } from "./commands/files.js";
import { registerOpsCommands } from "./commands/ops.js";
import { registerServeCommand } from "./commands/serve.js";
import { registerMcpCommand } from "./commands/mcp.js";
import { registerTokenCommand } from "./commands/tokens.js";

const program = new Command()
  .name("pfs")
  .description("PanaversityFS: content store for AI-written books")
  .option("--database-url <url>", "postgres://… journal (default: $DATABASE_URL, else embedded PGlite in the data dir)")
  .option("--data-dir <dir>", "embedded journal and default object folder (default: $PFS_DATA_DIR or .panaversity)")
  .option("--storage-dir <dir>", "local object folder (default: S3 from $PFS_S3_* if set, else <data-dir>/objects)")
  .option("--mirror <mode>", "the public mirror is on (assets | all): writes update it, verify checks it, repair rebuilds it")
  .option("--wait <seconds>", "embedded journal: how long to wait while another process holds it (default 15)")
  .option("--json", "machine-readable output")
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(`INVALID_ARGUMENT: ${str.replace(/^error: /, "")}`) });

registerFileCommands(program);
registerOpsCommands(program);
registerServeCommand(program);
registerMcpCommand(program);
registerTokenCommand(program);

await program.parseAsync(process.argv);
