/** pfs validate: the path schema, front matter and an MDX compile of every page, of a docs folder or a stored book. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import pLimit from "p-limit";
import { PfsError } from "../../errors/index.js";
import { assertBookId, parsePath } from "../../paths/index.js";
import type { PageCheckOptions } from "../../books/check-page.js";
import { action, printJson, wantsJson, withStore } from "../context.js";
import { collectSources } from "../local-files.js";
import { progressBar } from "../progress.js";
import { loadSiteMarkdown, type SiteMarkdown } from "../site-config.js";
import { docsToBookPath } from "../../books/layout.js";
import { referenceProblems } from "../../books/page-references.js";

export interface ValidationProblem {
  /** The file as given (a docs-folder path, or a book path with --book). */
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

interface Page {
  file: string;
  path: string;
  load(): Promise<Buffer>;
}

function formatFor(path: string, site: SiteMarkdown): PageCheckOptions["format"] {
  if (parsePath(path).kind === "summary") return "md";
  if (site.format === "detect") return path.endsWith(".mdx") ? "mdx" : "md";
  return site.format === "md" ? "md" : "mdx";
}

export function registerValidateCommand(program: Command): void {
  program
    .command("validate [docs-dir]")
    .description("check a docs folder (or --book) as Docusaurus would read it; problems as path:line:col  CODE  message")
    .option("--book <id>", "validate a stored book instead of a folder")
    .option("--static <dir>", "a static folder to check against the path schema too (as for import)")
    .option("--site <dir>", "use this Docusaurus site's markdown.format and docs remark plugins, and report JSX components it does not provide")
    .action(
      action(async (docsDir: string | undefined, opts: { book?: string; static?: string; site?: string }, cmd: Command) => {
        if ((docsDir === undefined) === (opts.book === undefined)) throw new PfsError("INVALID_ARGUMENT", "give either a docs folder or --book <id> (not both).");
        const site: SiteMarkdown = opts.site ? await loadSiteMarkdown(opts.site) : { format: "mdx", remarkPlugins: [] };
        // The MDX compiler is loaded only by this command, so it never slows the others' start.
        const { checkPage } = await import("../../books/check-page.js");
        const problems: ValidationProblem[] = [];
        let files = 0;
        const check = async (pages: Page[], bookPaths: Set<string>) => {
          const exists = (docsRel: string) => {
            const m = docsToBookPath(docsRel);
            return m.ok && bookPaths.has(m.path);
          };
          const progress = progressBar();
          progress.start("validate", pages.length);
          const limit = pLimit(2);
          try {
            await Promise.all(
              pages.map((p) =>
                limit(async () => {
                  const bytes = await p.load();
                  // Relative images and (with --site) JSX components resolve against the book and the site, as the build would.
                  const onReferences = (refs: Parameters<typeof referenceProblems>[1]) => {
                    for (const q of referenceProblems(p.path.slice("content/".length), refs, site.components ?? null, exists)) problems.push({ file: p.file, ...q });
                  };
                  for (const q of await checkPage(p.file, bytes, { format: formatFor(p.path, site), remarkPlugins: site.remarkPlugins, onReferences })) problems.push({ file: p.file, ...q });
                  progress.tick(bytes.length);
                }),
              ),
            );
          } finally {
            progress.stop();
          }
        };
        if (docsDir !== undefined) {
          const { files: sources, skipped } = await collectSources(docsDir, opts.static);
          files = sources.length + skipped.length;
          for (const s of skipped) problems.push({ file: s.source, line: 1, column: 1, code: s.code, message: s.reason });
          await check(
            sources.filter((s) => s.path.startsWith("content/")).map((s) => ({ file: s.source, path: s.path, load: () => readFile(s.abs) })),
            new Set(sources.map((s) => s.path)),
          );
        } else {
          const bookId = opts.book!;
          assertBookId(bookId);
          await withStore(cmd, async (store) => {
            await store.assertBookExists(bookId);
            const entries = await store.list({ bookId });
            files = entries.length;
            // Stored paths passed the schema when written; pages are loaded one at a time while the store is open.
            await check(
              entries.filter((e) => e.path.startsWith("content/")).map((e) => ({ file: e.path, path: e.path, load: async () => (await store.read({ bookId, path: e.path })).content })),
              new Set(entries.map((e) => e.path)),
            );
          });
        }
        problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
        if (wantsJson(cmd)) printJson({ ok: problems.length === 0, files, problems });
        else {
          for (const p of problems) process.stdout.write(`${p.file}:${p.line}:${p.column}  ${p.code}  ${p.message}\n`);
          process.stdout.write(`${files} file(s) checked, ${problems.length} problem(s)\n`);
        }
        if (problems.length > 0) process.exitCode = 1;
      }),
    );
}
