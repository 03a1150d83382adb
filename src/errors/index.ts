/** Every failure the library reports is a PfsError with one of these codes. */
export const ERROR_CODES = [
  "INVALID_PATH",
  "SCHEMA_VIOLATION",
  "INVALID_CONTENT",
  "UNSAFE_CONTENT",
  "INVALID_ARGUMENT",
  "CONFLICT",
  "HASH_REQUIRED",
  "NOT_FOUND",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "STORAGE_UNAVAILABLE",
  "JOURNAL_UNAVAILABLE",
  "INTEGRITY_ERROR",
  /** Too many calls of one kind at once or in a short time (archives, refused calls); retry later. */
  "RATE_LIMITED",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface PfsErrorDetails {
  /** Current hash of the file, for CONFLICT and HASH_REQUIRED. */
  currentHash?: string | null;
  /** Anything else a caller may want to act on (path, book, holder pid, …). */
  [key: string]: unknown;
}

export class PfsError extends Error {
  readonly code: ErrorCode;
  readonly currentHash?: string | null;
  readonly details: PfsErrorDetails;

  constructor(code: ErrorCode, message: string, details: PfsErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PfsError";
    this.code = code;
    this.details = details;
    if ("currentHash" in details) this.currentHash = details.currentHash;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.details };
  }
}

export function isPfsError(err: unknown, code?: ErrorCode): err is PfsError {
  return err instanceof PfsError && (code === undefined || err.code === code);
}
