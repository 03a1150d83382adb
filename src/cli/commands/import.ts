/** pfs import: a Docusaurus docs folder into a book, in one process with one journal open (DESIGN 3, issue 10). */
import { createReadStream, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import pLimit from "p-limit";
import { isPfsError, PfsError } from "../../errors/index.js";
import { assertBookId, assertUserId, BASE_USER } from "../../paths/index.js";
import { planImport, type ImportPlan } from "../../books/plan.js";
import { STATIC_FOLDER } from "../../books/layout.js";
import type { Store } from "../../store/store.js";
import { action, EXIT, printJson, wantsJson, withStore } from "../context.js";
import { unknownBookError } from "../../store/books.js";
import { collectSources, excludeMatcher, type Skipped, type SourceFile } from "../local-files.js";
import { collect, requireAgent } from "./options.js";
import { formatBytes, progressBar } from "../progress.js";

interface ImportOptions {
  book?: string;
  agent?: string;
  user?: string;
  prune?: boolean;
  dryRun?: boolean;
  static?: string;
  concurrency?: string;
  create?: boolean;
  exclude?: string[];
}

export interface Problem {
  path: string;
  code: string;
  message: string;
  currentHash?: string | null;
}

export interface ImportReport {
  bookId: string;
  userId?: string;
  dryRun: boolean;
  created: string[];
  updated: string[];
  unchanged: number;
  deleted: string[];
  skipped: Skipped[];
  /** Files --exclude matched: neither imported nor a problem. */
  excluded: string[];
  conflicts: Problem[];
  failed: Problem[];
  /** Bytes uploaded (or that would be, with --dry-run). */
  bytes: number;
  seconds: number;
}

/** Without --create, importing into a book that does not exist is NOT_FOUND naming the books that do (a typo never makes a book). */
async function assertKnownBook(store: Store | undefined, bookId: string): Promise<void> {
  const known = store ? (await store.books()).map((b) => b.bookId) : [];
  const err = unknownBookError(bookId, known);
  if (err) throw new PfsError("NOT_FOUND", `${err.message} Pass --create to create it.`, err.details);
}

function summaryLine(r: ImportReport): string {
  const verb = r.dryRun ? "would upload" : "uploaded";
  return (
    `${r.dryRun ? "dry run: " : ""}created ${r.created.length}, updated ${r.updated.length}, unchanged ${r.unchanged}, deleted ${r.deleted.length}, ` +
    `skipped ${r.skipped.length}${r.excluded.length ? `, excluded ${r.excluded.length}` : ""}, conflicts ${r.conflicts.length}${r.failed.length ? `, failed ${r.failed.length}` : ""}; ${verb} ${formatBytes(r.bytes)} in ${r.seconds.toFixed(1)} s`
  );
}

function problemOf(path: string, err: unknown): Problem {
  if (isPfsError(err)) return { path, code: err.code, message: err.message, ...(err.currentHash !== undefined ? { currentHash: err.currentHash } : {}) };
  return { path, code: "ERROR", message: err instanceof Error ? err.message : String(err) };
}

async function bookHashes(store: Store, bookId: string, userId: string | undefined): Promise<Map<string, string>> {
  const entries = await store.list({ bookId, userId });
  // With --user, only the user's own overlays are theirs to compare and prune; base files are not.
  const own = entries.filter((e) => (userId === undefined ? e.source === "base" : e.userId === userId));
  return new Map(own.map((e) => [e.path, e.hash]));
}

async function apply(store: Store, plan: ImportPlan<SourceFile>, opts: { bookId: string; userId?: string; agentId: string; concurrency: number }, report: ImportReport, onDone: (bytes: number) => void): Promise<void> {
  const limit = pLimit(opts.concurrency);
  const { bookId, userId, agentId } = opts;
  const upload = (f: SourceFile, expectedHash: string | undefined, into: string[]) =>
    limit(async () => {
      try {
        await store.write({ bookId, userId, agentId, path: f.path, expectedHash, content: createReadStream(f.abs) });
        into.push(f.path);
        report.bytes += f.size;
      } catch (err) {
        const p = problemOf(f.path, err);
        (p.code === "CONFLICT" || p.code === "HASH_REQUIRED" ? report.conflicts : report.failed).push(p);
      }
      onDone(f.size);
    });
  const remove = (path: string, expectedHash: string) =>
    limit(async () => {
      try {
        await store.delete({ bookId, userId, agentId, path, expectedHash });
        report.deleted.push(path);
      } catch (err) {
        const p = problemOf(path, err);
        (p.code === "CONFLICT" ? report.conflicts : report.failed).push(p);
      }
      onDone(0);
    });
  await Promise.all([
    ...plan.create.map((f) => upload(f, undefined, report.created)),
    ...plan.update.map((f) => upload(f, f.expectedHash, report.updated)),
    ...plan.delete.map((d) => remove(d.path, d.expectedHash)),
  ]);
  for (const list of [report.created, report.updated, report.deleted]) list.sort();
}

export function registerImportCommand(program: Command): void {
  program
    .command("import <docs-dir>")
    .description("bring a Docusaurus docs folder into a book: upload only what differs, report what does not fit the schema")
    .option("--book <id>", "the book to import into (required)")
    .option("--agent <id>", "who acts (required)")
    .option("--user <id>", "import into this user's overlay instead of the base (pages only)")
    .option("--static <dir>", `a static folder (img/, images/, …) imported as static/… (default: <docs-dir>/${STATIC_FOLDER} if present)`)
    .option("--prune", "delete book files that are no longer in the folder")
    .option("--dry-run", "print the plan and change nothing")
    .option("--concurrency <n>", "uploads in flight", "4")
    .option("--create", "create the book if it does not exist yet (without it, an unknown --book is an error: typos do not make books)")
    .option("--exclude <glob>", "leave out files matching this glob, relative to the folder (a name without / matches anywhere); repeatable", collect)
    .action(
      action(async (docsDir: string, opts: ImportOptions, cmd: Command) => {
        const started = performance.now();
        const bookId = opts.book;
        assertBookId(bookId);
        assertUserId(opts.user);
        if (!opts.dryRun) requireAgent(opts.agent, "import");
        const exclude = excludeMatcher(opts.exclude ?? []);
        if (opts.user === BASE_USER) throw new PfsError("INVALID_ARGUMENT", `--user ${BASE_USER} is reserved; leave --user out to import the base book.`);
        const concurrency = Number(opts.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new PfsError("INVALID_ARGUMENT", "--concurrency must be an integer from 1 to 64.");
        const json = wantsJson(cmd);
        const progress = progressBar();
        const root = resolve(docsDir);
        // The docs-root static/ folder is walked as part of the docs tree (docsToBookPath maps static/… as is).
        const staticDir = opts.static ? resolve(opts.static) : undefined;
        if (staticDir && existsSync(join(root, STATIC_FOLDER)) && resolve(root, STATIC_FOLDER) === staticDir) {
          throw new PfsError("INVALID_ARGUMENT", `--static ${opts.static} is already read as part of the docs folder.`);
        }
        const { files, skipped, excluded } = await collectSources(docsDir, opts.static, undefined, exclude);

        const report: ImportReport = {
          bookId,
          ...(opts.user ? { userId: opts.user } : {}),
          dryRun: Boolean(opts.dryRun),
          created: [],
          updated: [],
          unchanged: 0,
          deleted: [],
          skipped,
          excluded,
          conflicts: [],
          failed: [],
          bytes: 0,
          seconds: 0,
        };
        const run = async (store: Store | undefined) => {
          if (!opts.create) await assertKnownBook(store, bookId);
          const book = store ? await bookHashes(store, bookId, opts.user) : new Map<string, string>();
          const plan = planImport(files, book, Boolean(opts.prune));
          report.unchanged = plan.unchanged.length;
          if (opts.dryRun || !store) {
            report.created = plan.create.map((f) => f.path);
            report.updated = plan.update.map((f) => f.path);
            report.deleted = plan.delete.map((d) => d.path);
            report.bytes = [...plan.create, ...plan.update].reduce((n, f) => n + f.size, 0);
            return;
          }
          const work = plan.create.length + plan.update.length + plan.delete.length;
          if (work > 0) progress.start("upload", work, [...plan.create, ...plan.update].reduce((n, f) => n + f.size, 0));
          await apply(store, plan, { bookId, userId: opts.user, agentId: opts.agent!, concurrency }, report, (n) => progress.tick(n)).finally(() => progress.stop());
        };
        // Only a real import with --create may create a store; a dry run never does (a missing one: every file is new).
        await withStore(cmd, run, { create: Boolean(opts.create && !opts.dryRun) }).catch(async (err) => {
          if (!(isPfsError(err, "NOT_FOUND") && err.details.missingStore)) throw err;
          if (opts.dryRun) return run(undefined);
          await assertKnownBook(undefined, bookId);
          throw err;
        });
        report.seconds = (performance.now() - started) / 1000;

        if (json) printJson(report);
        else {
          const out: string[] = [];
          for (const s of skipped) out.push(`SKIPPED ${s.source}  ${s.code}  ${s.reason}`);
          if (report.dryRun) {
            for (const p of report.created) out.push(`create  ${p}`);
            for (const p of report.updated) out.push(`update  ${p}`);
            for (const p of report.deleted) out.push(`delete  ${p}`);
          }
          for (const c of report.conflicts) out.push(`CONFLICT ${c.path}  ${c.code}  ${c.message}`);
          for (const f of report.failed) out.push(`FAILED ${f.path}  ${f.code}  ${f.message}`);
          out.push(summaryLine(report));
          process.stdout.write(`${out.join("\n")}\n`);
        }
        if (report.conflicts.length > 0) process.exitCode = EXIT.conflict;
        // Excluded files are not skipped: only files the schema refused (and failures) fail the run.
        else if (report.skipped.length > 0 || report.failed.length > 0) process.exitCode = EXIT.failed;
      }),
    );
}
