/** pfs verify / repair / audit / metrics: operator commands. */
import type { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { PfsError } from "../../errors/index.js";
import { BASE_USER } from "../../paths/index.js";
import type { VerifyInput, VerifyReport } from "../../store/verify.js";
import { action, printJson, withStore } from "../context.js";
import { seconds } from "./options.js";


/** A progress bar on stderr (when it is a terminal, or with --progress); one bar per phase. */
function progressReporter(enabled: boolean): { onProgress?: VerifyInput["onProgress"]; stop(): void } {
  if (!enabled) return { stop() {} };
  let bar: SingleBar | undefined;
  let phase = "";
  return {
    onProgress: ({ phase: p, done, total }) => {
      if (p !== phase) {
        bar?.stop();
        phase = p;
        bar = new SingleBar({ format: `${p.padEnd(8)} [{bar}] {value}/{total}`, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 250 }, Presets.legacy);
        bar.start(total, 0);
      }
      bar!.setTotal(total);
      bar!.update(done);
    },
    stop: () => bar?.stop(),
  };
}

/** Orphans and temp uploads within the grace period are the expected leftovers of edits: counted, listed only with --verbose. */
function leftovers(r: VerifyReport, verbose: boolean): string[] {
  const fresh = r.orphans.filter((o) => !o.pastGrace);
  const freshTemps = r.tempUploads.filter((t) => !t.pastGrace);
  const lines = [
    ...r.orphans.filter((o) => o.pastGrace || verbose).map((o) => `ORPHAN ${o.pastGrace ? "past grace" : "within grace"}: ${o.hash} (${o.size} bytes, ${o.lastModified.toISOString()})`),
    ...r.tempUploads.filter((t) => t.pastGrace || verbose).map((t) => `TEMP UPLOAD ${t.pastGrace ? "past grace" : "within grace"}: ${t.key}`),
  ];
  if (fresh.length + freshTemps.length > 0) {
    lines.push(
      `${fresh.length} unreferenced object(s) and ${freshTemps.length} temporary upload(s) younger than the grace period (${r.graceSeconds} s): ` +
        `normal leftovers of edits, removed by \`pfs gc\` once older${verbose ? "" : " (--verbose lists them)"}`,
    );
  }
  return lines;
}

function summarize(r: VerifyReport, verbose: boolean): string {
  const lines = [
    `books ${r.books.length}, journal rows ${r.checked.rows}, objects checked ${r.checked.objects}, audit entries ${r.checked.auditEntries}, stored objects ${r.checked.storedObjects}`,
    ...r.objectProblems.map((p) => `OBJECT ${p.kind}: ${p.bookId}:${p.path} (user ${p.userId}) → ${p.hash}: ${p.message}`),
    ...r.chainProblems.map((p) => `CHAIN ${p.kind}: ${p.bookId} entry #${p.bookSeq}: ${p.message}`),
    ...r.journalAuditProblems.map((p) => `JOURNAL/AUDIT: ${p.bookId}:${p.path} (user ${p.userId}): ${p.message}`),
    ...r.anchors.problems.map((p) => `ANCHOR ${p.kind}: ${p.bookId} anchored entry #${p.seq}: ${p.message}`),
    r.anchors.checked
      ? `anchors: ${r.anchors.books.filter((b) => b.anchoredSeq > 0).length} book(s) anchored, signing ${r.anchors.signing}${r.anchors.writeErrors ? `, ${r.anchors.writeErrors} failed anchor write(s) in this process` : ""}`
      : "anchors not checked: off for this store and none found",
    ...r.anchors.books
      .filter((b) => b.unanchored > 0)
      .map((b) => `UNPROTECTED TAIL: ${b.bookId}: ${b.unanchored} audit entr${b.unanchored === 1 ? "y" : "ies"} after the last anchor (#${b.anchoredSeq}); nothing outside the database vouches for them yet`),
    `unprotected audit entries (after the last anchor): ${r.anchors.unprotectedEntries}`,
    ...leftovers(r, verbose),
    ...(r.mirror.checked
      ? [...r.mirror.stale.map((k) => `MIRROR stale or missing: ${k}`), ...r.mirror.extra.map((k) => `MIRROR extra: ${k}`)]
      : [`mirror not checked: ${r.mirror.reason}`]),
    r.ok ? "OK" : "PROBLEMS FOUND",
  ];
  return `${lines.join("\n")}\n`;
}

/** book:path, and the user only for an overlay (the base is the default and not worth a column). */
function auditTarget(e: { bookId: string; path: string | null; userId: string }): string {
  return `${e.bookId}${e.path === null ? "" : `:${e.path}`}${e.userId === BASE_USER ? "" : ` (user ${e.userId})`}`;
}

export function registerOpsCommands(program: Command): void {
  program
    .command("verify")
    .description("check journal ↔ storage, audit chains, orphan objects and mirror copies (changes nothing)")
    .option("--book <id>", "only this book (orphans are always judged store-wide)")
    .option("--grace <seconds>", "orphans older than this count as problems (default 86400)")
    .option("--progress", "draw a progress bar on stderr even when it is not a terminal")
    .option("--verbose", "also list unreferenced objects younger than the grace period (normal leftovers of edits)")
    .action(
      action(async (opts: { book?: string; grace?: string; progress?: boolean; verbose?: boolean }, cmd: Command) => {
        const json = cmd.optsWithGlobals<{ json?: boolean }>().json;
        const progress = progressReporter(Boolean(opts.progress || process.stderr.isTTY));
        const report = await withStore(cmd, async (store) => (opts.book && (await store.assertBookExists(opts.book, { includeRemoved: true })), store.verify({ bookId: opts.book, graceSeconds: seconds(opts.grace), onProgress: progress.onProgress }))).finally(
          () => progress.stop(),
        );
        if (json) printJson(report);
        else process.stdout.write(summarize(report, Boolean(opts.verbose)));
        if (!report.ok) throw new PfsError("INTEGRITY_ERROR", "verify found problems (listed above); run `pfs repair` for what can be fixed.");
      }),
    );

  program
    .command("repair")
    .description("remove orphans past grace and rebuild mirror copies; list what needs a person")
    .option("--book <id>", "only this book's chain and mirror (orphans are store-wide)")
    .option("--grace <seconds>", "only orphans older than this are removed (default 86400)")
    .option("--dry-run", "say what would be done, change nothing")
    .option("--progress", "draw a progress bar on stderr even when it is not a terminal")
    .action(
      action(async (opts: { book?: string; grace?: string; dryRun?: boolean; progress?: boolean }, cmd: Command) => {
        const json = cmd.optsWithGlobals<{ json?: boolean }>().json;
        const progress = progressReporter(Boolean(opts.progress || process.stderr.isTTY));
        const report = await withStore(cmd, (store) =>
          store.repair({ bookId: opts.book, graceSeconds: seconds(opts.grace), dryRun: opts.dryRun, onProgress: progress.onProgress }),
        ).finally(() => progress.stop());
        if (json) printJson(report);
        else {
          const verb = report.dryRun ? "would remove" : "removed";
          const lines = [
            ...report.fixed.removedOrphans.map((k) => `${verb}: ${k}`),
            ...report.fixed.mirrorCopied.map((k) => `${report.dryRun ? "would copy" : "copied"} mirror: ${k}`),
            ...report.fixed.mirrorRemoved.map((k) => `${verb} mirror: ${k}`),
            ...report.unfixable.map((u) => `NEEDS A PERSON: ${u}`),
            `${report.fixed.removedOrphans.length} orphan(s) ${verb}, ${report.unfixable.length} problem(s) left`,
          ];
          process.stdout.write(`${lines.join("\n")}\n`);
        }
        if (report.unfixable.length > 0) throw new PfsError("INTEGRITY_ERROR", `${report.unfixable.length} problem(s) cannot be repaired without guessing (listed above).`);
      }),
    );

  program
    .command("audit")
    .description("audit entries, newest first")
    .option("--book <id>")
    .option("--path <path>", "exact path, or a glob with * ? **")
    .option("--prefix <prefix>", "paths starting with this")
    .option("--by <agent>", "only this agent's entries")
    .option("--operation <op>", "write, delete or book-removed (or what a refused call asked for)")
    .option("--user <id>")
    .option("--status <status>", "ok, conflict, rejected or error")
    .option("--since <time>")
    .option("--until <time>")
    .option("--limit <n>", "page size (1-1000)", "100")
    .option("--cursor <cursor>", "next page (printed after a full page)")
    .action(
      action(async (o: Record<string, string | undefined>, cmd: Command) => {
        const json = cmd.optsWithGlobals<{ json?: boolean }>().json;
        const limit = Number(o.limit);
        const page = await withStore(cmd, async (store) => {
          if (o.book) await store.assertBookExists(o.book, { includeRemoved: true }); // a removed book's history stays readable
          return store.audit({
            bookId: o.book,
            path: o.path,
            pathPrefix: o.prefix,
            agentId: o.by,
            operation: o.operation,
            userId: o.user,
            status: o.status as "ok" | undefined,
            since: o.since,
            until: o.until,
            limit,
            cursor: o.cursor,
          });
        });
        if (json) return printJson(page);
        for (const e of page.entries) {
          const change = e.status === "ok" ? `${e.mode} ${e.prevHash?.slice(0, 12) ?? "-"} → ${e.newHash?.slice(0, 12) ?? "-"}` : `${e.errorCode}`;
          process.stdout.write(`${e.at.toISOString()}  ${e.agentId}  ${e.operation} ${e.status}  ${auditTarget(e)}  ${change}\n`);
        }
        if (page.nextCursor) process.stdout.write(`next page: --cursor ${page.nextCursor}\n`);
      }),
    );

  program
    .command("metrics")
    .description("print this process's metrics in the Prometheus text format")
    .action(
      action(async (_o: unknown, cmd: Command) => {
        if (cmd.optsWithGlobals<{ json?: boolean }>().json) return printJson(await withStore(cmd, (store) => store.metricsJson()));
        process.stdout.write(await withStore(cmd, (store) => store.metrics()));
      }),
    );
}
