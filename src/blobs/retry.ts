/**
 * The retry policy for object storage requests, as pure functions: which failures are worth
 * retrying and how long to wait. `sdkRetryStrategy` plugs it into the AWS SDK so every request,
 * multipart parts included, goes through the same policy.
 */

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** Delay before the first retry, doubled each retry. */
  baseDelayMs: number;
  /** Upper bound of any single delay. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

/** S3 error codes that mean "try again later" whatever the HTTP status says (S3 sends RequestTimeout as 400). */
const TRANSIENT_NAMES = new Set([
  "RequestTimeout",
  "RequestTimeoutException",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "InternalError",
  "ServiceUnavailable",
  "TimeoutError",
]);

/** Network failures below HTTP: the connection broke or never came up. */
const TRANSIENT_NET_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** The HTTP status an SDK error carries, if any. */
export function httpStatusOf(err: unknown): number | undefined {
  const e = err as ErrorLike | undefined;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

/**
 * True for failures a later attempt may not see: 5xx, 429 and throttling codes, timeouts,
 * resets and refused connections. False for answers that will not change: 4xx (403, 404, 400…),
 * aborts by the caller, and our own errors (a body over its size limit).
 */
export function isTransient(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== "object" || depth > 3) return false;
  const e = err as ErrorLike;
  const name = typeof e.name === "string" ? e.name : "";
  const code = typeof e.code === "string" ? e.code : "";
  if (name === "AbortError" || name === "PfsError") return false;
  if (TRANSIENT_NAMES.has(name) || TRANSIENT_NAMES.has(code)) return true;
  const status = httpStatusOf(err);
  if (status !== undefined) return status >= 500 || status === 429;
  if (TRANSIENT_NET_CODES.has(code)) return true;
  if (typeof e.message === "string" && /socket hang up|ECONNRESET/.test(e.message)) return true;
  return isTransient(e.cause, depth + 1);
}

/**
 * Delay before retry number `retry` (1 for the first retry): capped exponential backoff with
 * "equal jitter" (half fixed, half random), so clients that failed together spread out but never
 * retry immediately.
 */
export function backoffDelay(retry: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** Whether to try again after `attempts` failed attempts ending in `err`. */
export function shouldRetry(err: unknown, attempts: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  return attempts < policy.maxAttempts && isTransient(err);
}

/** The AWS SDK's RetryStrategyV2 shape, structurally (no SDK import needed here). */
export interface SdkRetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

export interface SdkRetryStrategy {
  acquireInitialRetryToken(scope: string): Promise<SdkRetryToken>;
  refreshRetryTokenForRetry(token: SdkRetryToken, errorInfo: { error?: unknown }): Promise<SdkRetryToken>;
  recordSuccess(token: SdkRetryToken): void;
}

/**
 * Adapts the policy to the SDK's retry middleware. `onRetry` is called once per retry (it feeds
 * panaversityfs_storage_retries_total); `operationOf` names the request being retried.
 */
export function sdkRetryStrategy(
  policy: RetryPolicy,
  onRetry: (operation: string) => void = () => {},
  operationOf: () => string = () => "unknown",
  random: () => number = Math.random,
): SdkRetryStrategy {
  const token = (retries: number, delay: number): SdkRetryToken => ({ getRetryCount: () => retries, getRetryDelay: () => delay });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous, info) => {
      const attempts = previous.getRetryCount() + 1;
      if (!shouldRetry(info.error, attempts, policy)) throw info.error ?? new Error("not retryable");
      onRetry(operationOf());
      return token(attempts, backoffDelay(attempts, policy, random));
    },
    recordSuccess: () => {},
  };
}

/**
 * Runs `fn` until it succeeds, fails with an error `retryable` refuses, or the policy's attempts run
 * out, waiting `backoffDelay` between attempts. `onRetry` sees each failure that will be retried.
 */
export async function retrying<T>(
  fn: (attempt: number) => Promise<T>,
  retryable: (err: unknown) => boolean,
  policy: Partial<RetryPolicy> = {},
  onRetry: (err: unknown, attempt: number) => void = () => {},
): Promise<T> {
  const p: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...policy };
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= p.maxAttempts || !retryable(err)) throw err;
      onRetry(err, attempt);
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, p)));
    }
  }
}
