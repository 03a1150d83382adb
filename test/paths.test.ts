import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { assertAgentId, assertBookId, assertUserId, isModeratelyRestrictive, parsePath, scriptsOf, validateTarget } from "../src/paths/index.js";
import { PfsError } from "../src/errors/index.js";
import { types as knownTypes } from "mime-types";
import { docsToBookPath } from "../src/books/layout.js";
import { IMPORTED_EXTENSIONS, importFamilyOf, mimeTypeOf } from "../src/paths/media-types.js";
import { ACCEPTED_PATHS, HOSTILE_PATHS } from "./support/hostile-paths.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(PfsError);
    return (err as PfsError).code;
  }
}

describe("path schema", () => {
  it("has a hostile corpus of at least 40 cases", () => {
    expect(HOSTILE_PATHS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HOSTILE_PATHS)("rejects $why with $code", ({ path, code }) => {
    expect(codeOf(() => parsePath(path))).toBe(code);
  });

  it.each(ACCEPTED_PATHS)("accepts $path as $kind", ({ path, kind }) => {
    expect(parsePath(path).kind).toBe(kind);
  });

  it("explains the expected shapes on a schema violation", () => {
    try {
      parsePath("docs/x.md");
      expect.unreachable();
    } catch (err) {
      expect((err as PfsError).message).toContain("content/<NN-Part>/<NN-Chapter>/<NN-lesson>.md");
      expect((err as PfsError).message).toContain("static/(img|images|slides|videos|audio)");
    }
  });

  it("parses part, chapter and lesson of a lesson", () => {
    expect(parsePath("content/01-a/02-b/03-c.mdx")).toMatchObject({ kind: "lesson", part: "01-a", chapter: "02-b", lesson: "03-c", extension: "mdx" });
    expect(parsePath("content/01-a/02-b/03-c.summary.md")).toMatchObject({ kind: "summary", lesson: "03-c" });
  });

  it("allows overlays only for content pages", () => {
    expect(validateTarget({ bookId: "my-book", path: "content/01-a/02-b/03-c.md", userId: "u-1" }).isContent).toBe(true);
    expect(codeOf(() => validateTarget({ bookId: "my-book", path: "static/img/x.png", userId: "u-1" }))).toBe("SCHEMA_VIOLATION");
  });
});

describe("look-alike names (UTS #39 moderately restrictive, NFKC-stable)", () => {
  const message = (path: string) => {
    try {
      parsePath(path);
      return "";
    } catch (err) {
      return (err as PfsError).message;
    }
  };

  it("says which scripts a refused name mixes", () => {
    expect(message("static/img/\u041a.png")).toContain("mixes Cyrillic and Latin letters");
    expect(message("static/img/p\u03b1ypal.png")).toContain("mixes Latin and Greek letters");
  });

  it("says what a compatibility character reads as", () => {
    expect(message("static/img/\ufb01le.png")).toContain('read as "file.png"');
  });

  it("classifies scripts, ignoring digits, punctuation and combining marks", () => {
    expect(scriptsOf("01-intro_v2.png")).toEqual(["Latin"]);
    expect(scriptsOf("2024-01.png")).toEqual(["Latin"]);
    expect(scriptsOf("123-456")).toEqual([]);
    expect(scriptsOf("课程.png")).toEqual(["Han", "Latin"]);
    expect(scriptsOf("日本語のデータ")).toEqual(["Han", "Hiragana", "Katakana"]);
    expect(scriptsOf("\u041a.png")).toEqual(["Cyrillic", "Latin"]);
  });

  it("allows the profile's combinations and nothing else", () => {
    expect(isModeratelyRestrictive(["Arabic", "Latin"])).toBe(true);
    expect(isModeratelyRestrictive(["Han", "Hiragana", "Katakana", "Latin"])).toBe(true);
    expect(isModeratelyRestrictive(["Han", "Bopomofo", "Latin"])).toBe(true);
    expect(isModeratelyRestrictive(["Han", "Hangul", "Latin"])).toBe(true);
    expect(isModeratelyRestrictive(["Cyrillic", "Latin"])).toBe(false);
    expect(isModeratelyRestrictive(["Greek", "Latin"])).toBe(false);
    expect(isModeratelyRestrictive(["Arabic", "Devanagari"])).toBe(false);
    expect(isModeratelyRestrictive(["Arabic", "Devanagari", "Latin"])).toBe(false);
    expect(isModeratelyRestrictive(["Hangul", "Katakana"])).toBe(false);
  });

  it("property: every accepted segment is NFKC-stable and passes the profile", () => {
    const letters = fc.constantFrom(..."aKé课程سبقデータ한국Кαх1-_. ".split(""), "\ufb01", "\uff21");
    fc.assert(
      fc.property(fc.array(letters, { minLength: 1, maxLength: 8 }), (chars) => {
        const name = `a${chars.join("")}`;
        let accepted = true;
        try {
          parsePath(`static/img/${name}`);
        } catch {
          accepted = false;
        }
        if (accepted) {
          expect(name.normalize("NFKC")).toBe(name);
          expect(isModeratelyRestrictive(scriptsOf(name))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("ids", () => {
  it.each(["ab", "-abc", "abc-", "ABC", "a_b", "a".repeat(65), "", "bo ok", "../x"])("rejects book id %j", (id) => {
    expect(codeOf(() => assertBookId(id))).toBe("INVALID_ARGUMENT");
  });
  it.each(["abc", "python-book", "a1b", "a".repeat(64)])("accepts book id %j", (id) => {
    expect(codeOf(() => assertBookId(id))).toBeUndefined();
  });
  it.each(["__base__", "", "_x", "a/b", "a".repeat(65), "a b"])("rejects user id %j", (id) => {
    expect(codeOf(() => assertUserId(id))).toBe("INVALID_ARGUMENT");
  });
  it.each(["u", "student-42", "User_7"])("accepts user id %j", (id) => {
    expect(codeOf(() => assertUserId(id))).toBeUndefined();
  });
  it.each([undefined, null, "", "  ", "system", "SYSTEM", " system "])("rejects agent id %j", (id) => {
    expect(codeOf(() => assertAgentId(id))).toBe("INVALID_ARGUMENT");
  });
});

describe("media types (one table for import, validate and the servers)", () => {
  it("serves every extension import accepts with its own media type, never application/octet-stream", () => {
    const candidates = new Set([...Object.keys(knownTypes), ...IMPORTED_EXTENSIONS, "BMP", "Tiff"]);
    const accepted = [...candidates].filter((ext) => docsToBookPath(`01-Part/01-Ch/img/a.${ext}`).ok);
    expect(accepted.length).toBeGreaterThanOrEqual(IMPORTED_EXTENSIONS.length);
    const served = Object.fromEntries(accepted.map((ext) => [ext, mimeTypeOf(`static/img/a.${ext}`)]));
    expect(Object.entries(served).filter(([, type]) => type === "application/octet-stream")).toEqual([]);
    expect(served).toMatchObject({ bmp: "image/bmp", tiff: "image/tiff", BMP: "image/bmp", pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation" });
  });

  it("every imported extension is a valid asset path in its family folder and served with its own type", () => {
    for (const ext of IMPORTED_EXTENSIONS) {
      const family = importFamilyOf(`a.${ext}`)!;
      const parsed = parsePath(`static/${family}/a.${ext.toUpperCase()}`);
      expect(parsed).toMatchObject({ kind: "asset", assetFamily: family, extension: ext });
      expect(mimeTypeOf(parsed.path), ext).not.toBe("application/octet-stream");
    }
  });

  it("refuses an unknown extension on import and serves it as application/octet-stream", () => {
    expect(docsToBookPath("01-Part/01-Ch/a.exe")).toMatchObject({ ok: false, code: "SCHEMA_VIOLATION" });
    expect(mimeTypeOf("static/img/a.exe")).toBe("application/octet-stream");
    expect(mimeTypeOf("static/img.png/readme")).toBe("application/octet-stream");
  });
});
