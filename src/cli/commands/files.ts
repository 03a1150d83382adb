/** pfs write / read / delete / ls: the file operations of DESIGN section 3. */
import { createReadStream } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { PfsError } from "../../errors/index.js";
import { action, printJson, withStore } from "../context.js";
import { requireAgent } from "./options.js";

interface MutationOptions {
  agent?: string;
  user?: string;
  expectedHash?: string;
}

export function registerFileCommands(program: Command): void {
  program
    .command("write <book> <path> <file>")
    .description("write a file from <file> (- for stdin); create without --expected-hash, update with it")
    .option("--agent <id>", "who acts (required)")
    .option("--expected-hash <sha256>", "the hash you read (required to update an existing file)")
    .option("--user <id>", "write the user's overlay instead of the base")
    .action(
      action(async (book: string, path: string, file: string, opts: MutationOptions, cmd: Command) => {
        const agentId = requireAgent(opts.agent, "write");
        if (file !== "-") {
          const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
            throw new PfsError("INVALID_ARGUMENT", `Cannot read ${file}: ${err.code ?? err.message}.`);
          });
          if (!info.isFile()) throw new PfsError("INVALID_ARGUMENT", `${file} is not a regular file.`);
        }
        const content = file === "-" ? process.stdin : createReadStream(file);
        const result = await withStore(cmd, (store) =>
          store.write({ bookId: book, path, content, expectedHash: opts.expectedHash, userId: opts.user, agentId }),
          { create: true },
        );
        printJson(result);
      }),
    );

  program
    .command("read <book> <path>")
    .description("print a file's bytes (overlay first with --user)")
    .option("--user <id>", "read as this user sees the book")
    .option("--out <file>", "write the bytes to a file and print the metadata instead")
    .action(
      action(async (book: string, path: string, opts: { user?: string; out?: string }, cmd: Command) => {
        const result = await withStore(cmd, async (store) => {
          await store.assertBookExists(book);
          return store.read({ bookId: book, path, userId: opts.user });
        });
        if (cmd.optsWithGlobals<{ json?: boolean }>().json && !opts.out) {
          const { content, ...meta } = result;
          return printJson({ ...meta, encoding: "base64", content: content.toString("base64") });
        }
        if (opts.out) {
          await writeFile(opts.out, result.content);
          const { content: _content, ...meta } = result;
          printJson(meta);
        } else {
          await new Promise<void>((res, rej) => process.stdout.write(result.content, (err) => (err ? rej(err) : res())));
        }
      }),
    );

  program
    .command("delete <book> <path>")
    .description("delete a file (idempotent: deleting what is not there succeeds with existed: false)")
    .option("--agent <id>", "who acts (required)")
    .option("--expected-hash <sha256>", "only delete if the file still has this hash")
    .option("--user <id>", "delete only the user's overlay")
    .action(
      action(async (book: string, path: string, opts: MutationOptions, cmd: Command) => {
        const agentId = requireAgent(opts.agent, "delete");
        printJson(await withStore(cmd, async (store) => (await store.assertBookExists(book), store.delete({ bookId: book, path, userId: opts.user, expectedHash: opts.expectedHash, agentId }))));
      }),
    );

  program
    .command("ls <book>")
    .description("list a book's files (as a user sees it with --user)")
    .option("--prefix <prefix>", "only paths starting with this")
    .option("--user <id>", "overlay files replace base files")
    .option("--kind <kind>", "content, asset, lesson, summary, intro or frontmatter")
    .action(
      action(async (book: string, opts: { prefix?: string; user?: string; kind?: string }, cmd: Command) => {
        const json = cmd.optsWithGlobals<{ json?: boolean }>().json;
        const kinds = ["content", "asset", "lesson", "summary", "intro", "frontmatter"];
        if (opts.kind !== undefined && !kinds.includes(opts.kind)) throw new PfsError("INVALID_ARGUMENT", `--kind must be one of ${kinds.join(", ")}.`);
        const entries = await withStore(cmd, async (store) => {
          await store.assertBookExists(book);
          return store.list({ bookId: book, prefix: opts.prefix, userId: opts.user, kind: opts.kind as "content" | undefined });
        });
        if (json) return printJson(entries);
        for (const e of entries) process.stdout.write(`${e.hash}  ${String(e.size).padStart(9)}  ${e.source.padEnd(7)}  ${e.path}\n`);
      }),
    );
}
