/** pfs books / snapshot / plan / archive / gc: the library's book-level operations on the command line. */
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import type { Command } from "commander";
import { PfsError } from "../../errors/index.js";
import { writeFileAtomic } from "../../fsutil/index.js";
import { assertBookId } from "../../paths/index.js";
import type { ArchiveScope } from "../../store/archive.js";
import { action, printJson, wantsJson, withStore } from "../context.js";
import { formatBytes, progressBar } from "../progress.js";
import { requireAgent, seconds } from "./options.js";

function requireBook(book: string | undefined): string {
  if (book === undefined) throw new PfsError("INVALID_ARGUMENT", "--book <id> is required.");
  assertBookId(book);
  return book;
}

function registerBooksRemove(books: Command): void {
  books
    .command("rm <book>")
    .description("remove a book (admin): its files and overlays leave the journal; its audit log and anchors stay verifiable")
    .option("--agent <id>", "who acts (required; recorded in the book's audit log)")
    .option("--yes", "confirm the removal")
    .option("--confirm <book>", "confirm by repeating the book id (for scripts)")
    .action(
      action(async (bookId: string, opts: { agent?: string; yes?: boolean; confirm?: string }, cmd: Command) => {
        assertBookId(bookId);
        const agentId = requireAgent(opts.agent, "books rm");
        if (opts.confirm !== undefined && opts.confirm !== bookId) throw new PfsError("INVALID_ARGUMENT", `--confirm ${JSON.stringify(opts.confirm)} does not match the book ${JSON.stringify(bookId)}; nothing was removed.`);
        if (!opts.yes && opts.confirm === undefined) throw new PfsError("INVALID_ARGUMENT", `pfs books rm removes every file and overlay of ${bookId}: pass --yes or --confirm ${bookId}.`);
        const removed = await withStore(cmd, (store) => store.removeBook({ bookId, agentId }));
        if (wantsJson(cmd)) return printJson(removed);
        process.stdout.write(
          `removed ${bookId}: ${removed.files} file(s), ${removed.overlays} overlay(s); audit entry #${removed.auditSeq} closes its log (kept, with its anchors). ` +
            "Its objects are left for `pfs gc` after the grace period.\n",
        );
      }),
    );
}

export function registerBookCommands(program: Command): void {
  const books = program
    .command("books")
    .description("the books in the store, with base file counts and sizes")
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const books = await withStore(cmd, (store) => store.books());
        if (wantsJson(cmd)) return printJson(books);
        if (books.length === 0) process.stdout.write("no books yet\n");
        for (const b of books) {
          process.stdout.write(`${b.bookId.padEnd(30)} ${String(b.files).padStart(6)} files  ${formatBytes(b.bytes).padStart(9)}${b.overlays ? `  ${b.overlays} overlay(s)` : ""}\n`);
        }
      }),
    );
  registerBooksRemove(books);

  program
    .command("snapshot")
    .description("the book's files and manifest hash from one consistent read (pass the hash to `pfs plan --since` later)")
    .option("--book <id>", "the book (required)")
    .option("--user <id>", "as this user sees the book")
    .action(
      action(async (opts: { book?: string; user?: string }, cmd: Command) => {
        const bookId = requireBook(opts.book);
        const snap = await withStore(cmd, async (store) => {
          await store.assertBookExists(bookId);
          return store.snapshot({ bookId, userId: opts.user });
        });
        if (wantsJson(cmd)) return printJson(snap);
        process.stdout.write(`manifest ${snap.manifestHash}  seq ${snap.seq}  ${snap.files.length} files\n`);
      }),
    );

  program
    .command("plan")
    .description("what changed in the book since a manifest hash (from `pfs snapshot` or a build cache)")
    .option("--book <id>", "the book (required)")
    .option("--since <manifest-hash>", "the manifest hash your copy corresponds to (absent: every file is added)")
    .action(
      action(async (opts: { book?: string; since?: string }, cmd: Command) => {
        const bookId = requireBook(opts.book);
        const plan = await withStore(cmd, async (store) => {
          await store.assertBookExists(bookId);
          return store.planBuild({ bookId, targetManifestHash: opts.since });
        });
        if (wantsJson(cmd)) return printJson(plan);
        const lines = plan.files.map((f) => `${f.change.padEnd(8)} ${f.path}`);
        if (plan.warning) lines.unshift(`warning: ${plan.warning}`);
        lines.push(`${plan.status}: ${plan.files.length} change(s); manifest now ${plan.manifestHash}`);
        process.stdout.write(`${lines.join("\n")}\n`);
      }),
    );

  program
    .command("archive")
    .description("a zip of the book's files at their book paths, streamed to a file; an errors.json entry is added only if a file could not be read (then exit 1)")
    .option("--book <id>", "the book (required)")
    .option("--scope <scope>", "content, assets or all", "all")
    .option("--user <id>", "as this user sees the book")
    .requiredOption("-o, --output <file>", "the zip file to write")
    .action(
      action(async (opts: { book?: string; scope: string; user?: string; output: string }, cmd: Command) => {
        const bookId = requireBook(opts.book);
        if (!["content", "assets", "all"].includes(opts.scope)) throw new PfsError("INVALID_ARGUMENT", "--scope must be content, assets or all.");
        const progress = progressBar();
        const summary = await withStore(cmd, async (store) => {
          await store.assertBookExists(bookId);
          const files = await store.list({ bookId, userId: opts.user });
          const zip = store.archive({ bookId, scope: opts.scope as ArchiveScope, userId: opts.user });
          progress.start("archive", files.length, files.reduce((n, f) => n + f.size, 0));
          let bytes = 0;
          const meter = new Transform({
            transform(chunk: Buffer, _e, cb) {
              bytes += chunk.length;
              progress.addBytes(chunk.length);
              cb(null, chunk);
            },
          });
          try {
            let s: Awaited<typeof zip.summary> | undefined;
            await writeFileAtomic(opts.output, async (temp) => {
              await pipeline(zip, meter, createWriteStream(temp));
              s = await zip.summary;
            });
            return { ...s!, zipBytes: bytes, output: opts.output };
          } finally {
            progress.stop();
          }
        });
        if (wantsJson(cmd)) printJson(summary);
        else process.stdout.write(`${summary.output}: ${summary.files} files, ${formatBytes(summary.zipBytes)}, ${summary.errors.length} error(s), manifest ${summary.manifestHash}\n`);
        if (summary.errors.length > 0) process.exitCode = 1;
      }),
    );

  program
    .command("gc")
    .description("remove stored objects no journal row points to (and stale temporary uploads) older than the grace period")
    .option("--dry-run", "list what would be removed, remove nothing")
    .option("--grace <seconds>", "only objects older than this (default 86400)")
    .action(
      action(async (opts: { dryRun?: boolean; grace?: string }, cmd: Command) => {
        const report = await withStore(cmd, (store) => store.gc({ dryRun: opts.dryRun, graceSeconds: seconds(opts.grace) }));
        if (wantsJson(cmd)) return printJson(report);
        const verb = report.dryRun ? "would remove" : "removed";
        const lines = report.deleted.map((k) => `${verb}: ${k}`);
        lines.push(`${report.deleted.length} object(s) ${verb} (${formatBytes(report.deletedBytes)}); kept ${report.kept.referenced} referenced, ${report.kept.fresh} within grace`);
        process.stdout.write(`${lines.join("\n")}\n`);
      }),
    );
}
