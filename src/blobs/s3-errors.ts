/** S3 failures as PfsErrors: what failed, the S3 code and HTTP status, a hint; never key material. */
import { PfsError, isPfsError } from "../errors/index.js";
import { httpStatusOf } from "./retry.js";

export interface SdkErrorLike {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
}

export function isNotFound(err: unknown): boolean {
  const e = err as SdkErrorLike;
  return httpStatusOf(err) === 404 && e?.name !== "NoSuchBucket" && e?.Code !== "NoSuchBucket";
}

/** Removes anything that looks like key material from server-provided text. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}

/**
 * A PfsError for a failed request. The raw SDK error is not attached as `cause`: servers echo
 * request details (string to sign, key ids) into error fields, and errors end up in logs.
 */
export function s3Failure(where: { description: string; secrets: readonly string[] }, op: string, key: string, err: unknown): PfsError {
  if (isPfsError(err)) return err;
  const e = (err ?? {}) as SdkErrorLike & { code?: string };
  const status = httpStatusOf(err);
  const named = e.Code ?? e.name ?? e.code;
  const s3Code = named && named !== "Unknown" && named !== "Error" ? named : status ? `HTTP${status}` : "NetworkError";
  const attempts = e.$metadata?.attempts;
  const details = { key, status, s3Code, requestId: e.$metadata?.requestId, attempts };
  let hint = "";
  if (status === 401 || status === 403) hint = " The credentials were refused: check the access key id and secret (PFS_S3_ACCESS_KEY_ID / PFS_S3_SECRET_ACCESS_KEY) and the token's permissions on the bucket.";
  else if (s3Code === "NoSuchBucket") hint = " The bucket does not exist: create it or fix PFS_S3_BUCKET.";
  const what = `${s3Code}${status ? ` (HTTP ${status})` : ""}${attempts && attempts > 1 ? ` after ${attempts} attempts` : ""}`;
  const raw = typeof e.message === "string" ? redact(e.message, where.secrets).slice(0, 300).replace(/[.\s]+$/, "") : "";
  const message = raw && raw !== named && raw !== "UnknownError" ? `: ${raw}` : "";
  return new PfsError("STORAGE_UNAVAILABLE", `${where.description} could not ${op} "${key}": ${what}${message}.${hint}`, details);
}
