import { describe, expect, it } from "vitest";
import { compareBytes, manifestHash } from "../src/store/manifest.js";

// Expected values computed outside this code base, e.g.
//   printf 'content/intro.md:<H1>' | sha256sum
const H1 = "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"; // sha256("one")
const H2 = "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3"; // sha256("two")

describe("manifestHash (DESIGN 4.4) against hand-computed values", () => {
  it("an empty book hashes the empty string", () => {
    expect(manifestHash([])).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("one file is one `path:sha256` line with no trailing newline", () => {
    expect(manifestHash([{ path: "content/intro.md", hash: H1 }])).toBe("8c5520dbc0f4fa6fa3a145b664fb01da796d3e502e93ff7e54eb566368012eed");
  });

  it("sorts by path in byte order whatever the input order ('-' before '.', 'Z' before 'a')", () => {
    const files = [
      { path: "static/img/a.png", hash: H1 },
      { path: "content/a.md", hash: H1 },
      { path: "static/img/Z.png", hash: H2 },
      { path: "content/a-b.md", hash: H2 },
    ];
    const expected = "68a9ebcb7811eeb49c02c2c4ab4f5358e5a6e37ee803cad9ceca448b26519a38";
    expect(manifestHash(files)).toBe(expected);
    expect(manifestHash([...files].reverse())).toBe(expected);
  });

  it("uses UTF-8 byte order, not JavaScript's UTF-16 order, for characters beyond the BMP", () => {
    // U+FF41 is EF BD 81 in UTF-8, U+1D400 is F0 9D 90 80: byte order puts U+FF41 first,
    // while UTF-16 code units (FF41 vs D835) would put U+1D400 first.
    const files = [
      { path: "static/img/\u{1D400}.png", hash: H2 },
      { path: "static/img/\uFF41.png", hash: H1 },
    ];
    expect(manifestHash(files)).toBe("8d1cb2347fe9d3a2098417c8824d4950c221ad7ee9bbc75a95977f8b50d39e5b");
    expect(compareBytes("\uFF41", "\u{1D400}")).toBeLessThan(0);
    expect("\uFF41" < "\u{1D400}").toBe(false);
  });

  it("changes when any hash or path changes", () => {
    const base = manifestHash([{ path: "content/intro.md", hash: H1 }]);
    expect(manifestHash([{ path: "content/intro.md", hash: H2 }])).not.toBe(base);
    expect(manifestHash([{ path: "content/intro2.md", hash: H1 }])).not.toBe(base);
  });
});
