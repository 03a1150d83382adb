/**
 * Import benchmark (issue 10): `pfs import` of a generated 1,000-page book (or of any docs folder given
 * as an argument), run as the built CLI in its own process like a user would, on the embedded default
 * store (PGlite + local folder) unless DATABASE_URL is set. Three runs:
 *   1. first import into a new store (includes creating the store),
 *   2. unchanged re-import (the target: 0 uploads),
 *   3. re-import after changing 3 files (3 uploads).
 * Prints wall time, uploads and the CLI process's peak RSS for each, and checks the issue's targets
 * (first ≤ 60 s, unchanged ≤ 5 s with 0 uploads; measured on a 2-core machine).
 *
 *   npm run build && npm run bench:import                     # generated book, 1,000 lessons
 *   npm run bench:import -- path/to/docs [--static dir]        # a real docs folder (copied first, then changed)
 *   npm run bench:import -- --pages 200 --json                 # smaller, machine-readable
 */
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bookToDocsPath } from "../src/books/layout.js";
import { generateSyntheticBook } from "../scripts/sample-book.js";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pages: { type: "string", default: "1000" },
    summaries: { type: "boolean", default: false },
    static: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
// Reports the CLI process's own peak RSS on exit (a child's rusage is not visible from here otherwise).
const RSS_HOOK = `data:text/javascript,process.on("exit",()=>process.stderr.write("\\nPFS_MAXRSS_KB="+process.resourceUsage().maxRSS+"\\n"))`;

interface RunResult {
  name: string;
  seconds: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  uploads: number;
  peakRssMb: number;
  exitCode: number | null;
}

function runImport(name: string, docs: string, dataDir: string): Promise<RunResult> {
  const cliArgs = ["--import", RSS_HOOK, BIN, "--data-dir", dataDir, "--json", "import", docs, "--book", "bench-import", "--agent", "bench"];
  if (args.static) cliArgs.push("--static", args.static);
  const started = performance.now();
  const child = spawn(process.execPath, cliArgs, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) =>
    child.on("close", (code) => {
      const seconds = (performance.now() - started) / 1000;
      try {
        const r = JSON.parse(stdout);
        const rss = Number(/PFS_MAXRSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
        resolve({
          name,
          seconds,
          created: r.created.length,
          updated: r.updated.length,
          unchanged: r.unchanged,
          skipped: r.skipped.length,
          uploads: r.created.length + r.updated.length,
          peakRssMb: Math.round(rss / 1024),
          exitCode: code,
        });
      } catch (err) {
        reject(new Error(`pfs import failed (exit ${code}): ${stderr || stdout}`, { cause: err }));
      }
    }),
  );
}

let lessons = 0;

async function generatedDocs(target: string, pages: number): Promise<number> {
  const lessonsPerChapter = 20;
  const chaptersPerPart = 10;
  const parts = Math.max(1, Math.ceil(pages / (lessonsPerChapter * chaptersPerPart)));
  const book = generateSyntheticBook({ parts, chaptersPerPart, lessonsPerChapter, extraParagraphs: 6, summaries: args.summaries });
  lessons = book.stats.lessons;
  for (const f of book.files) {
    const file = join(target, bookToDocsPath(f.path));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, f.content);
  }
  return book.files.length;
}

async function markdownFiles(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true });
  return all.filter((f) => f.endsWith(".md") && !f.split("/").some((s) => s.startsWith("."))).sort();
}

const work = await mkdtemp(join(tmpdir(), "pfs-bench-import-"));
try {
  const docs = join(work, "docs");
  let files: number;
  if (positionals[0]) {
    await cp(positionals[0], docs, { recursive: true });
    files = (await readdir(docs, { recursive: true })).length;
  } else {
    files = await generatedDocs(docs, Number(args.pages));
  }
  const dataDir = join(work, "store");
  const first = await runImport("first import", docs, dataDir);
  const unchanged = await runImport("unchanged re-import", docs, dataDir);
  const md = await markdownFiles(docs);
  for (const f of [md[0], md[Math.floor(md.length / 2)], md[md.length - 1]]) await appendFile(join(docs, f!), "\nOne more line.\n");
  const changed = await runImport("3-file change", docs, dataDir);
  const runs = [first, unchanged, changed];
  const targets = {
    firstImportWithin60s: first.seconds <= 60,
    unchangedWithin5s: unchanged.seconds <= 5,
    unchangedUploadsZero: unchanged.uploads === 0,
    changeUploadsThree: changed.uploads === 3,
  };
  const source = positionals[0] ?? `generated book (${lessons} lessons${args.summaries ? " + summaries" : ""})`;
  if (args.json) process.stdout.write(`${JSON.stringify({ source, files, journal: process.env.DATABASE_URL ? "postgres" : "embedded", runs, targets }, null, 2)}\n`);
  else {
    process.stdout.write(`pfs import bench: ${source}, ${files} files in the folder, ${process.env.DATABASE_URL ? "PostgreSQL" : "embedded"} journal\n`);
    for (const r of runs) {
      process.stdout.write(
        `${r.name.padEnd(20)} ${r.seconds.toFixed(2).padStart(7)} s  uploads ${String(r.uploads).padStart(5)}  unchanged ${String(r.unchanged).padStart(5)}  skipped ${r.skipped}  peak RSS ${r.peakRssMb} MB\n`,
      );
    }
    process.stdout.write(`targets: ${Object.entries(targets).map(([k, v]) => `${k} ${v ? "ok" : "MISSED"}`).join(", ")}\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
