/**
 * pfs validate --site: what a build of that site would fail on, known without building (issue 17):
 * JSX components the site's MDX component map does not provide (file:line), relative images that are
 * not files of the book. A real Docusaurus site folder (its config loaded by its own @docusaurus/core).
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentKeys } from "../src/cli/site-config.js";

const BIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));

const LESSON = [
  "---", "title: Lesson", "---", // 1-3
  "import Tabs from '@theme/Tabs';", // 4
  "import TabItem from '@theme/TabItem';", // 5
  "", // 6
  "export const Local = () => <b>local</b>;", // 7
  "", // 8
  "<Quiz id=\"q1\" />", // 9
  "", // 10
  "<Poll question=\"?\" />", // 11
  "", // 12
  "<Tabs><TabItem value=\"a\">A</TabItem></Tabs>", // 13
  "", // 14
  "<Details><summary>more</summary>text</Details> <Local />", // 15
  "", // 16
  "![here](./img/here.png) and ![gone](./img/gone.png) and ![web](https://example.com/x.png) and ![abs](/img/x.png)", // 17
  "",
].join("\n");

async function tree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), body);
  }
}

describe("pfs validate --site", () => {
  let dir: string;
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const child = spawn(process.execPath, [BIN, ...args, "--json"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => res({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pfs-validate-site-"));
    await tree(join(dir, "docs"), {
      "01-Part/01-Chapter/01-lesson.md": LESSON,
      "01-Part/01-Chapter/img/here.png": "png",
      "01-Part/01-Chapter/02-other.md": "# Other\n\n![up](../../../outside.png)\n",
    });
    await tree(join(dir, "site"), {
      "docusaurus.config.js": 'module.exports = { title: "t", url: "http://localhost", baseUrl: "/" };\n',
      "src/theme/MDXComponents.tsx": [
        "import MDXComponents from '@theme-original/MDXComponents';",
        "import Quiz from '@site/src/components/Quiz';",
        "const components: Record<string, unknown> = {",
        "  ...MDXComponents,",
        "  Quiz,",
        "};",
        "export default components;",
        "",
      ].join("\n"),
    });
    await symlink(fileURLToPath(new URL("../node_modules", import.meta.url)), join(dir, "site", "node_modules"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads the keys of a site's MDXComponents map (shorthand, keyed, quoted, via a const)", () => {
    expect(componentKeys("export default { ...MDXComponents, Quiz, Box: MyBox, 'Card': C };").sort()).toEqual(["Box", "Card", "Quiz"]);
    expect(componentKeys("const m = {\n  ...Base,\n  Quiz,\n};\nexport default m;\n")).toEqual(["Quiz"]);
    expect(componentKeys("export default function X() {}")).toEqual([]);
  });

  it("reports a component the site lacks at its line, and images that are not files of the book; imports, page exports and theme defaults pass", { timeout: 120_000 }, async () => {
    const r = await run(["validate", "docs", "--site", "site"]);
    expect(r.code, r.stderr).toBe(1);
    const problems = JSON.parse(r.stdout).problems.map((p: { file: string; line: number; code: string; message: string }) => `${p.file}:${p.line} ${p.code} ${p.message.split(" ")[0]}`);
    expect(problems).toEqual([
      `${join("docs", "01-Part/01-Chapter/01-lesson.md")}:11 UNKNOWN_COMPONENT <Poll>`,
      `${join("docs", "01-Part/01-Chapter/01-lesson.md")}:17 IMAGE_NOT_FOUND image`,
      `${join("docs", "01-Part/01-Chapter/02-other.md")}:3 IMAGE_NOT_FOUND image`,
    ]);

    // Without --site the site's components are unknown: only the images are reported.
    const plain = await run(["validate", "docs"]);
    expect(JSON.parse(plain.stdout).problems.map((p: { code: string }) => p.code)).toEqual(["IMAGE_NOT_FOUND", "IMAGE_NOT_FOUND"]);
  });
});
