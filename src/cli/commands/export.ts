/** pfs export: a book into a docs folder, the inverse of import; only files whose bytes differ are written. */
import { join, resolve } from "node:path";
import { existsSync } from "node:fs";
import type { Command } from "commander";
import pLimit from "p-limit";
import { assertBookId, assertUserId } from "../../paths/index.js";
import { bookToDocsPath, docsToBookPath } from "../../books/layout.js";
import { planExport } from "../../books/plan.js";
import { action, printJson, wantsJson, withStore } from "../context.js";
import { hashFile, removeAndPrune, writeFileAtomic } from "../../fsutil/index.js";
import { walkFolder } from "../local-files.js";
import { formatBytes, progressBar } from "../progress.js";

export function registerExportCommand(program: Command): void {
  program
    .command("export <dir>")
    .description("write a book into a docs folder (content/X → <dir>/X, static/X → <dir>/static/X); incremental, byte for byte")
    .option("--book <id>", "the book to export (required)")
    .option("--user <id>", "the book as this user sees it (their overlays replace base pages)")
    .action(
      action(async (dir: string, opts: { book?: string; user?: string }, cmd: Command) => {
        const started = performance.now();
        const bookId = opts.book;
        assertBookId(bookId);
        assertUserId(opts.user);
        const root = resolve(dir);
        const progress = progressBar();
        const report = await withStore(cmd, async (store) => {
          await store.assertBookExists(bookId);
          const entries = await store.list({ bookId, userId: opts.user });
          const book = entries.map((e) => ({ path: e.path, local: bookToDocsPath(e.path), hash: e.hash, size: e.size }));
          // Only local files that an import would map into the book are compared (and removed when gone from it).
          const local = new Map<string, string>();
          if (existsSync(root)) {
            const limit = pLimit(8);
            await Promise.all(
              (await walkFolder(root))
                .filter((e) => e.kind === "file" && docsToBookPath(e.rel).ok)
                .map((e) => limit(async () => local.set(e.rel, (await hashFile(e.abs)).hash))),
            );
          }
          const plan = planExport(book, local);
          const bytes = plan.write.reduce((n, f) => n + f.size, 0);
          if (plan.write.length + plan.remove.length > 0) progress.start("export", plan.write.length + plan.remove.length, bytes);
          const limit = pLimit(4);
          try {
            await Promise.all([
              ...plan.write.map((f) =>
                limit(async () => {
                  const { stream } = await store.readStream({ bookId, path: f.path, userId: opts.user });
                  await writeFileAtomic(join(root, f.local), stream);
                  progress.tick(f.size);
                }),
              ),
              ...plan.remove.map((rel) =>
                limit(async () => {
                  await removeAndPrune(join(root, rel), root);
                  progress.tick();
                }),
              ),
            ]);
          } finally {
            progress.stop();
          }
          return {
            bookId,
            ...(opts.user ? { userId: opts.user } : {}),
            dir: root,
            written: plan.write.map((f) => f.local).sort(),
            unchanged: plan.unchanged,
            removed: plan.remove,
            bytes,
            seconds: (performance.now() - started) / 1000,
          };
        });
        if (wantsJson(cmd)) return printJson(report);
        process.stdout.write(
          `written ${report.written.length}, unchanged ${report.unchanged}, removed ${report.removed.length}; ${formatBytes(report.bytes)} in ${report.seconds.toFixed(1)} s\n`,
        );
      }),
    );
}
