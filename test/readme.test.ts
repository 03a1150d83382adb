/**
 * Recipes in the README and docs/*.md cannot rot: every ```yaml block parses (js-yaml), every ```js / ```ts
 * block is valid syntax for the TypeScript compiler, and every complete Docusaurus config among them
 * (`module.exports = …` / `export default …`) loads — compiled to CommonJS and run with a stubbed
 * `require` — and names the panaversity-fs plugin with a bookId.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import yaml from "js-yaml";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FILES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
}

function blocks(file: string): Block[] {
  const out: Block[] = [];
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w+)/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(indent));
    out.push({ file, line: i + 1, lang: open[2]!, code: body.join("\n") });
    i = j;
  }
  return out;
}

const ALL = FILES.flatMap(blocks);
const where = (b: Block) => `${b.file}:${b.line}`;

function syntaxErrors(b: Block): string[] {
  const out = ts.transpileModule(b.code, { reportDiagnostics: true, fileName: b.lang === "ts" ? "x.ts" : "x.mjs", compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  return (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

/** Runs a config block as CommonJS with `require` stubbed (nothing is installed for it) and returns its export. */
function loadConfig(b: Block): any {
  const js = ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const module = { exports: {} as any };
  new Function("module", "exports", "require", "process", js)(module, module.exports, () => ({}), { env: {} });
  return module.exports.default ?? module.exports;
}

describe("README and docs recipes", () => {
  it("finds the blocks", () => {
    expect(ALL.filter((b) => b.lang === "yaml").length).toBeGreaterThanOrEqual(2);
    expect(ALL.filter((b) => /^(js|ts)$/.test(b.lang)).length).toBeGreaterThanOrEqual(5);
  });

  it.each(ALL.filter((b) => b.lang === "yaml").map((b) => [where(b), b] as const))("yaml %s parses", (_w, b) => {
    const doc = yaml.load(b.code) as Record<string, any>;
    expect(doc).toBeTypeOf("object");
    // A GitHub workflow: jobs with steps, and permissions stated.
    if (doc && "jobs" in doc) {
      expect(doc.permissions, `${where(b)} states its permissions`).toBeTypeOf("object");
      for (const [name, job] of Object.entries<any>(doc.jobs)) expect(Array.isArray(job.steps), `${where(b)} job ${name}`).toBe(true);
    }
  });

  it.each(ALL.filter((b) => /^(js|ts)$/.test(b.lang)).map((b) => [where(b), b] as const))("%s is valid syntax", (_w, b) => {
    expect(syntaxErrors(b)).toEqual([]);
  });

  const configs = ALL.filter((b) => /^(js|ts)$/.test(b.lang) && /^\/\/ docusaurus\.config/.test(b.code) && /(module\.exports\s*=|export default)/.test(b.code));
  it("the migration guide has a complete config for TS, CommonJS and ESM", () => {
    const heads = configs.map((b) => b.code.split("\n")[0]);
    expect(heads).toEqual(expect.arrayContaining([expect.stringMatching(/config\.ts/), expect.stringMatching(/CommonJS/), expect.stringMatching(/\.mjs/)]));
  });
  it.each(configs.map((b) => [where(b), b] as const))("docusaurus config %s loads and names the plugin", (_w, b) => {
    const config = loadConfig(b);
    const entry = (config.plugins as unknown[]).find((p) => Array.isArray(p) && p[0] === "panaversity-fs/docusaurus") as [string, { bookId: string }];
    expect(entry[1].bookId).toMatch(/^[a-z0-9-]+$/);
  });

  it("the README keeps the two commands a newcomer needs: the example build and the test suite", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(readme).toContain("npm ci && npm run example");
    expect(readme).toMatch(/npm ci && npm test +# .*minutes on 2 cores/);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts.example).toBeDefined();
    expect(pkg.scripts["example:serve"]).not.toMatch(/--port 3000/);
  });
});
