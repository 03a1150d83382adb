import { describe, expect, it } from "vitest";
import { assertAgentId, assertBookId, assertUserId, parsePath, validateTarget } from "../src/paths/index.js";
import { PfsError } from "../src/errors/index.js";
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
