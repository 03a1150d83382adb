/** What an archive covers and says (DESIGN 4.6): its input, summary and error message, its file list. Pure. */
import type { Readable } from "node:stream";
import { PfsError } from "../errors/index.js";
import { assertBookId, assertUserId, parsePath } from "../paths/index.js";
import { compareBytes } from "./manifest.js";

export type ArchiveScope = "content" | "assets" | "all";
const SCOPES: readonly ArchiveScope[] = ["content", "assets", "all"];

export interface ArchiveInput {
  bookId: string;
  scope: ArchiveScope;
  /** The book as this user sees it: their overlays replace base files. Absent: base only. */
  userId?: string;
  /** Time budget in ms from the call; when spent, the archive ends early with manifest.json. */
  deadlineMs?: number;
  /** Continue a cut-short archive: only paths after this one (byte order). */
  resumeAfter?: string;
}

export interface ArchiveError {
  path: string;
  hash: string;
  code: string;
  message: string;
}

export interface ArchiveSummary {
  bookId: string;
  scope: ArchiveScope;
  userId?: string;
  manifestHash: string;
  seq: number;
  /** "complete": every file in scope was handled (some may be in errors); "deadline": resume with resumeAfter. */
  status: "complete" | "deadline" | "aborted";
  files: number;
  bytes: number;
  errors: ArchiveError[];
  resumeAfter: string | null;
}

/** The archive's bytes; `summary` settles when the stream has been fully written (or fails/aborts). */
export type ArchiveStream = Readable & { summary: Promise<ArchiveSummary> };

/**
 * Pure: the message an archive's errors carry. Whoever downloads an archive sees it, so it names
 * nothing of the server (bucket, endpoint, key prefix, folder, driver text): the book path and the
 * code say which file and what kind of failure; the operator's logs and metrics have the rest.
 */
export function publicArchiveMessage(code: string, integrity: "missing" | "corrupt"): string {
  if (code === "INTEGRITY_ERROR") {
    return integrity === "missing" ? "The stored object for this file is missing." : "The stored object for this file is corrupt: its bytes do not match the journal.";
  }
  if (code === "STORAGE_UNAVAILABLE") return "Object storage could not be read; try again later.";
  return "This file could not be read.";
}

/** Names of the archive's own entries; book paths start with content/ or static/, so they never clash. */
export const ERRORS_ENTRY = "errors.json";
export const MANIFEST_ENTRY = "manifest.json";

function inScope(path: string, scope: ArchiveScope): boolean {
  if (scope === "all") return true;
  const isAsset = parsePath(path).kind === "asset";
  return scope === "assets" ? isAsset : !isAsset;
}

/** The files an archive covers, in byte order, after `resumeAfter`. Pure. */
export function archiveFiles<T extends { path: string }>(files: readonly T[], scope: ArchiveScope, resumeAfter?: string): T[] {
  return files
    .filter((f) => inScope(f.path, scope) && (resumeAfter === undefined || compareBytes(f.path, resumeAfter) > 0))
    .sort((a, b) => compareBytes(a.path, b.path));
}

export function assertArchiveInput(input: ArchiveInput): void {
  assertBookId(input.bookId);
  assertUserId(input.userId);
  if (!SCOPES.includes(input.scope)) throw new PfsError("INVALID_ARGUMENT", `scope must be one of ${SCOPES.join(", ")}; got ${JSON.stringify(input.scope)}.`);
  if (input.deadlineMs !== undefined && !(typeof input.deadlineMs === "number" && input.deadlineMs >= 0)) {
    throw new PfsError("INVALID_ARGUMENT", "deadlineMs must be a number of milliseconds (0 or more).");
  }
  if (input.resumeAfter !== undefined && (typeof input.resumeAfter !== "string" || input.resumeAfter === "")) {
    throw new PfsError("INVALID_ARGUMENT", "resumeAfter must be a path (the resume_after of a previous archive).");
  }
}

/** What an archive's own entries need of the snapshot it was cut from. */
interface ArchiveSource {
  manifestHash: string;
  seq: number;
  files: readonly { path: string; hash: string; size: number; source: string }[];
}

/** Pure: errors.json, listing the files left out; path, code and public message only (nothing of the server). */
export function errorsEntryBody(bookId: string, manifestHash: string, errors: readonly ArchiveError[]): Buffer {
  const listed = errors.map(({ path, code, message }) => ({ path, code, message }));
  return Buffer.from(JSON.stringify({ bookId, manifestHash, errors: listed }, null, 2));
}

/** Pure: manifest.json of a cut-short archive: the whole scope's files and where to resume. */
export function manifestEntryBody(input: ArchiveInput, snap: ArchiveSource, resumeAfter: string | null): Buffer {
  const manifest = {
    bookId: input.bookId,
    scope: input.scope,
    userId: input.userId ?? null,
    manifestHash: snap.manifestHash,
    seq: snap.seq,
    complete: false,
    resume_after: resumeAfter,
    files: archiveFiles(snap.files, input.scope).map((f) => ({ path: f.path, hash: f.hash, size: f.size, source: f.source })),
  };
  return Buffer.from(JSON.stringify(manifest, null, 2));
}
