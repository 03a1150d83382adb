/**
 * `npm run example`: seeds the sample book into the embedded store and builds example-site/ with
 * `docusaurus build`, then says where the site is. (`npm run build` must have produced dist/ first;
 * the npm script does that.)
 *
 *   npx tsx scripts/example.ts [--prune] [-- <extra docusaurus build arguments>]
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const siteDir = join(repo, "example-site");
const outDir = join(siteDir, "build");
const { values, positionals } = parseArgs({ options: { prune: { type: "boolean", default: false } }, allowPositionals: true });

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: repo, stdio: "inherit" });
    child.on("error", fail);
    child.on("close", (code) => (code === 0 ? ok() : fail(new Error(`${args.map((a) => relative(repo, a) || a).join(" ")} exited with code ${code}`))));
  });
}

if (!existsSync(join(repo, "dist", "docusaurus", "index.js"))) {
  console.error("dist/docusaurus/index.js is missing: run `npm run build` first (`npm run example` does).");
  process.exit(1);
}
const started = Date.now();
try {
  // The seed runs in its own process and closes the embedded journal before Docusaurus opens it.
  await run(process.execPath, ["--import", "tsx", join(repo, "scripts", "seed-example.ts"), ...(values.prune ? ["--prune"] : [])]);
  const docusaurusBin = join(dirname(createRequire(import.meta.url).resolve("@docusaurus/core/package.json")), "bin", "docusaurus.mjs");
  await run(process.execPath, [docusaurusBin, "build", siteDir, "--out-dir", outDir, ...positionals]);
} catch (err) {
  console.error(`\nnpm run example failed: ${(err as Error).message}`);
  process.exit(1);
}
const rel = relative(process.cwd(), outDir) || ".";
// docusaurus serve takes $PORT (default 3000) and offers the next free port when that one is taken.
const base = `http://localhost:${process.env.PORT ?? 3000}`;
console.log(
  `\nThe example site is built in ${rel}/ (${((Date.now() - started) / 1000).toFixed(0)} s).\n` +
    `  Serve it:  npm run example:serve   → ${base}/  (PORT=8080 npm run example:serve for another port)\n` +
    `  The book: ${base}/docs/preface   student-42's book (their overlay of a lesson): ${base}/docs/u/student-42/Foundations/getting-started/why-python-for-ai\n`,
);
