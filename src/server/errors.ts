/**
 * What a client is told about a failure, and what the server log keeps. Pure.
 * Clients get the code, a message fit for them and a request id; server-side failures (5xx) never
 * carry their inner message (connection strings, folders, stack traces), which goes to the log line
 * with the same request id.
 */
import { PfsError, isPfsError, type ErrorCode } from "../errors/index.js";

const GENERIC: Partial<Record<ErrorCode, string>> = {
  STORAGE_UNAVAILABLE: "Object storage is unavailable; retry later.",
  JOURNAL_UNAVAILABLE: "The journal is unavailable; retry later.",
  INTEGRITY_ERROR: "The stored bytes do not match the journal; nothing was served. Operators: run pfs verify.",
};

/** Detail keys safe to show a client (never keys, folders or connection strings). */
const SAFE_DETAILS = new Set(["currentHash", "path", "bookId", "hash", "scope", "maxBytes", "retryAfter", "reason", "line", "column", "construct", "violations"]);

/** Failures whose cause the client can act on, told in a message without internals. */
const SAFE_REASONS: Record<string, string> = {
  "statement-timeout": "The query took too long and was cancelled (statement timeout); narrow it (a book, a time range, a simpler path glob) and retry.",
};

/** `scheme://user:password@host` → `scheme://***@host`, and `password=…` query parts. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, "$1***@").replace(/((?:password|secret|token|key)=)[^&\s]+/gi, "$1***");
}

export interface ClientError {
  status: number;
  body: Record<string, unknown>;
  /** True when the server log should get a line (server-side failures). */
  logged: boolean;
}

export function clientError(err: unknown, requestId: string, secrets: string[], statusOf: (code: ErrorCode) => number): ClientError {
  const error = isPfsError(err) ? err : new PfsError("JOURNAL_UNAVAILABLE", "unexpected failure");
  const status = statusOf(error.code);
  const reason = typeof error.details.reason === "string" ? SAFE_REASONS[error.details.reason] : undefined;
  let message = reason ?? GENERIC[error.code] ?? (status >= 500 ? "The server failed; see its log." : error.message);
  for (const secret of secrets) if (secret) message = message.split(secret).join("the server's storage");
  message = redactCredentials(message);
  const details = Object.fromEntries(Object.entries(error.details).filter(([k]) => SAFE_DETAILS.has(k)));
  return { status, body: { name: "PfsError", code: error.code, message, ...details, requestId }, logged: status >= 500 || !isPfsError(err) };
}

/** One line for the server log: request id, request, status and the full (credential-redacted) cause. */
export function logLine(requestId: string, method: string | undefined, url: string | undefined, status: number, err: unknown): string {
  const what = isPfsError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  const cause = isPfsError(err) && err.cause instanceof Error ? ` (cause: ${err.cause.message})` : "";
  return redactCredentials(`pfs request ${requestId} ${method ?? "?"} ${(url ?? "").slice(0, 512)} → ${status} ${what}${cause}`);
}
