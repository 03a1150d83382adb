/**
 * The path schema of a book, per DESIGN section 2. Every entry point (store, CLI, server, plugin)
 * validates through this module, so a path is judged the same way everywhere.
 */
import { asciiLookalikeIn, findLookalike, skeleton } from "./lookalike.js";
import { describeScripts, isModeratelyRestrictive, scriptsOf } from "./scripts.js";
import { PfsError } from "../errors/index.js";

export { isModeratelyRestrictive, scriptsOf } from "./scripts.js";

export const BASE_USER = "__base__";
const MAX_PATH_BYTES = 512;

export const BOOK_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$/;
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export type PathKind = "lesson" | "summary" | "intro" | "frontmatter" | "asset";

export interface ParsedPath {
  path: string;
  kind: PathKind;
  /** Markdown pages and their summaries; the only kind that may have overlays. */
  isContent: boolean;
  /** `md` or `mdx` for content, the file extension (lowercase, may be empty) for assets. */
  extension: string;
  /** Part / chapter folder names for content below `content/`, when present. */
  part?: string;
  chapter?: string;
  /** Lesson stem (`03-variables`) for lessons and summaries. */
  lesson?: string;
  /** Asset family folder: img, images, slides, videos, audio. */
  assetFamily?: string;
}

export const EXPECTED_SHAPES = [
  "content/<NN-Part>/<NN-Chapter>/<NN-lesson>.md",
  "content/<NN-Part>/<NN-Chapter>/<NN-lesson>.summary.md",
  "content/<NN-Part>/README.md",
  "content/<NN-Part>/<NN-Chapter>/README.md",
  "content/<name>.md",
  "static/(img|images|slides|videos|audio)/<nested path>",
] as const;

const SHAPES_HINT =
  `Expected one of: ${EXPECTED_SHAPES.join(", ")} ` +
  `(NN is two digits, names use letters, digits, '-' and '_'; .mdx is accepted wherever .md is).`;

const NUMBERED = /^[0-9]{2}[-_][A-Za-z0-9_-]+$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const MARKDOWN_FILE = /^(.+?)(\.summary)?\.(md|mdx)$/;
const ASSET_FAMILIES = new Set(["img", "images", "slides", "videos", "audio"]);
/** Asset file and folder names: visible, no URL/shell metacharacters. */
const ASSET_SEGMENT = /^[\p{L}\p{N}_][\p{L}\p{N}\p{M} ._()+,=@&'!-]*$/u;
// C0/C1 controls, DEL, and invisible format characters (zero-width, bidi overrides, BOM).
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;
// Characters that render like '/' or '\' (fraction/division slash, fullwidth forms, big solidus).
const LOOKALIKE_SEPARATORS = /[\u2044\u2215\u2216\u29f5\u29f8\u29f9\uff0f\uff3c]/u;

function invalid(path: unknown, reason: string): PfsError {
  return new PfsError("INVALID_PATH", `Invalid path ${JSON.stringify(path)}: ${reason}.`, { path });
}

function schema(path: string, reason: string): PfsError {
  return new PfsError("SCHEMA_VIOLATION", `Path "${path}" does not fit the book schema: ${reason}. ${SHAPES_HINT}`, {
    path,
    expected: EXPECTED_SHAPES,
  });
}

/** Rejects dangerous input (INVALID_PATH) without judging the book layout. */
export function assertSafePath(path: unknown): asserts path is string {
  if (typeof path !== "string") throw invalid(path, "a path must be a string");
  if (path.length === 0) throw invalid(path, "it is empty");
  if (Buffer.byteLength(path, "utf8") > MAX_PATH_BYTES) throw invalid(path, `it is longer than ${MAX_PATH_BYTES} bytes`);
  if (LONE_SURROGATE.test(path)) throw invalid(path, "it is not valid Unicode");
  if (/[\r\n]/.test(path)) throw invalid(path, "it contains a line break");
  if (FORBIDDEN_CHARS.test(path)) throw invalid(path, "it contains a control or invisible character");
  if (path.includes("\\")) throw invalid(path, "backslashes are not allowed; use '/'");
  if (LOOKALIKE_SEPARATORS.test(path)) throw invalid(path, "it contains a character that looks like a path separator");
  if (path.startsWith("/")) throw invalid(path, "it must be relative (no leading '/')");
  if (path.startsWith("~")) throw invalid(path, "it must not start with '~'");
  if (PERCENT_ESCAPE.test(path)) throw invalid(path, "percent-encoded characters are not allowed");
  for (const segment of path.split("/")) {
    if (segment === "") throw invalid(path, "it has an empty segment ('//' or a trailing '/')");
    if (segment === "." || segment === "..") throw invalid(path, "'.' and '..' segments are not allowed");
    if (segment.normalize("NFC") !== segment) throw invalid(path, `segment "${segment}" is not in Unicode NFC form`);
    const compat = segment.normalize("NFKC");
    if (compat === "." || compat === ".." || /[/\\]/.test(compat)) {
      throw invalid(path, `segment "${segment}" looks like a path separator or dot segment`);
    }
    if (compat !== segment) {
      throw invalid(path, `segment "${segment}" contains compatibility characters (ligatures, full-width or styled letters) that read as "${compat}"; write it with plain characters`);
    }
    const scripts = scriptsOf(segment);
    if (!isModeratelyRestrictive(scripts)) {
      throw invalid(
        path,
        `segment "${segment}" mixes ${describeScripts(scripts)} letters, so it can look like a different name; ` +
          `write each name in one script (Latin may be combined with one other script except Cyrillic or Greek)`,
      );
    }
    if (segment.trim() !== segment) throw invalid(path, `segment "${segment}" has leading or trailing spaces`);
    const lookalike = /[A-Za-z]/.test(segment) ? asciiLookalikeIn(segment) : null;
    if (lookalike) {
      throw invalid(path, `segment "${segment}" mixes plain letters with "${lookalike}" (U+${lookalike.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}), which reads as "${skeleton(lookalike)}"; write the name with plain characters`);
    }
  }
}

/** Refuses a new name that cannot be told apart from an existing sibling (same UTS #39 skeleton, different spelling). */
export function assertNoLookalike(path: string, existing: Iterable<string>): void {
  const found = findLookalike(path, existing);
  if (found) {
    throw new PfsError(
      "INVALID_PATH",
      `Invalid path ${JSON.stringify(path)}: "${found.segment}" looks like "${found.like}", which already exists in the same folder (${found.existing}); use that name or a clearly different one.`,
      { path, lookalikeOf: found.existing },
    );
  }
}

/** Validates a path against the book schema and says what kind of file it is. */
export function parsePath(path: unknown): ParsedPath {
  assertSafePath(path);
  return parseStoredPath(path);
}

/**
 * The schema part of parsePath only, for paths read back from the journal (every one passed parsePath
 * when it was written): the per-segment Unicode checks dominate a 20,000-file book's load otherwise.
 */
export function parseStoredPath(path: string): ParsedPath {
  const segments = path.split("/");
  const [root, ...rest] = segments;
  if (root === "content") return parseContent(path, rest);
  if (root === "static") return parseAsset(path, rest);
  throw schema(path, `it must start with "content/" or "static/"`);
}

function parseContent(path: string, rest: string[]): ParsedPath {
  if (rest.length === 0) throw schema(path, "a file name is missing after content/");
  const file = rest[rest.length - 1]!;
  const folders = rest.slice(0, -1);
  const match = MARKDOWN_FILE.exec(file);
  if (!match) throw schema(path, `"${file}" is not a .md or .mdx file`);
  const [, stem, summary, extension] = match as unknown as [string, string, string | undefined, "md" | "mdx"];
  if (folders.length > 2) throw schema(path, "content goes at most two folders deep (part / chapter)");
  folders.forEach((folder, i) => {
    if (!NUMBERED.test(folder)) {
      throw schema(path, `${i === 0 ? "part" : "chapter"} folder "${folder}" must be NN-name (two digits, then '-' or '_')`);
    }
  });
  const [part, chapter] = folders;
  const base = { path, isContent: true, extension, part, chapter };

  if (folders.length === 0) {
    if (summary) throw schema(path, "summaries belong next to a lesson inside a chapter folder");
    if (!NAME.test(stem)) throw schema(path, `front-matter page name "${stem}" may use letters, digits, '-' and '_'`);
    return { ...base, kind: "frontmatter" };
  }
  if (stem === "README" && !summary) return { ...base, kind: "intro" };
  if (folders.length === 1) throw schema(path, `a part folder holds only its README.${extension}; lessons go in a chapter folder`);
  if (!NUMBERED.test(stem)) throw schema(path, `lesson file "${file}" must be named NN-name.${extension} (two digits, then '-' or '_')`);
  return { ...base, kind: summary ? "summary" : "lesson", lesson: stem };
}

function parseAsset(path: string, rest: string[]): ParsedPath {
  const [family, ...inner] = rest;
  if (!family || !ASSET_FAMILIES.has(family)) {
    throw schema(path, `assets live under static/img, static/images, static/slides, static/videos or static/audio`);
  }
  if (inner.length === 0) throw schema(path, `a file name is missing after static/${family}/`);
  for (const segment of inner) {
    if (!ASSET_SEGMENT.test(segment)) {
      throw schema(path, `asset name "${segment}" must start with a letter, digit or '_' and avoid characters like ? # * : < > | "`);
    }
  }
  const file = inner[inner.length - 1]!;
  const dot = file.lastIndexOf(".");
  return {
    path,
    kind: "asset",
    isContent: false,
    extension: dot > 0 ? file.slice(dot + 1).toLowerCase() : "",
    assetFamily: family,
  };
}

export function assertBookId(bookId: unknown): asserts bookId is string {
  if (typeof bookId !== "string" || !BOOK_ID_PATTERN.test(bookId)) {
    throw new PfsError(
      "INVALID_ARGUMENT",
      `Invalid book id ${JSON.stringify(bookId)}: use 3-64 lowercase letters, digits and '-', starting and ending with a letter or digit.`,
      { bookId },
    );
  }
}

/** `undefined` means the base book; anything else must be a valid user id. */
export function assertUserId(userId: unknown): asserts userId is string | undefined {
  if (userId === undefined) return;
  if (typeof userId !== "string" || !USER_ID_PATTERN.test(userId)) {
    throw new PfsError(
      "INVALID_ARGUMENT",
      `Invalid user id ${JSON.stringify(userId)}: use 1-64 letters, digits, '_' and '-', starting with a letter or digit` +
        ` (${BASE_USER} is reserved for the shared book).`,
      { userId },
    );
  }
}

/** Agents act under their own name: never empty, never the anonymous "system". */
export function assertAgentId(agentId: unknown): asserts agentId is string {
  if (typeof agentId !== "string" || agentId.trim() === "" || agentId.trim().toLowerCase() === "system") {
    throw new PfsError(
      "INVALID_ARGUMENT",
      `agentId is required on every change and must name who acts (not empty, not "system"); got ${JSON.stringify(agentId)}.`,
      { agentId },
    );
  }
  if (agentId.length > 200 || FORBIDDEN_CHARS.test(agentId)) {
    throw new PfsError("INVALID_ARGUMENT", "agentId must be at most 200 printable characters.", {});
  }
}

/** Validates everything that addresses one file; overlays exist only for content paths. */
export function validateTarget(input: { bookId: unknown; path: unknown; userId?: unknown }): ParsedPath {
  assertBookId(input.bookId);
  assertUserId(input.userId);
  const parsed = parsePath(input.path);
  if (input.userId !== undefined && !parsed.isContent) {
    throw new PfsError("SCHEMA_VIOLATION", `Overlays exist only for content pages; "${parsed.path}" is an asset.`, {
      path: parsed.path,
    });
  }
  return parsed;
}
