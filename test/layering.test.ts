import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../src", import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : Promise.resolve(e.name.endsWith(".ts") ? [join(dir, e.name)] : []))));
  return nested.flat();
}

describe("layering", () => {
  it("nothing outside src/store reaches into Store.ctx (the store's methods are its interface)", async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(src)) {
      const rel = relative(src, file).split("\\").join("/");
      if (rel.startsWith("store/")) continue;
      const lines = (await readFile(file, "utf8")).split("\n");
      lines.forEach((line, i) => {
        if (/\.ctx\b/.test(line)) offenders.push(`src/${rel}:${i + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
