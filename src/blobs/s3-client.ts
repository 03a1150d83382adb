/** The S3 client as this package configures it (DESIGN 7): timeouts, retries, connection pool, operation names. */
import type { AsyncLocalStorage } from "node:async_hooks";
import { S3Client } from "@aws-sdk/client-s3";
import { DEFAULT_RETRY_POLICY, sdkRetryStrategy, type RetryPolicy } from "./retry.js";
import type { S3StorageConfig } from "./types.js";

const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * Kept-alive connections per client: at least the highest fetch concurrency a caller may ask for (the
 * plugin's `concurrency` goes up to 256), so parallel GETs reuse warm connections instead of queueing
 * behind the SDK's default of 50 or paying a new TCP/TLS handshake each.
 */
export const MAX_SOCKETS = 256;

export interface S3Hooks {
  onRetry?: (operation: string) => void;
}

/** Knobs for tests and benchmarks; the defaults are what production uses. */
export interface S3Tuning {
  retry?: Partial<RetryPolicy>;
  /** Keys per ListObjectsV2 page (default 1000, S3's maximum). */
  listPageSize?: number;
}

/** Keys under a prefix: "" or "a/b/" (no leading slash, one trailing slash). */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? "").replace(/^\/+|\/+$/g, "");
  return trimmed ? `${trimmed}/` : "";
}

/** Path-style is what local servers need and R2 accepts; AWS itself prefers virtual hosts. */
export function defaultForcePathStyle(endpoint: string | undefined): boolean {
  return endpoint !== undefined;
}

/**
 * The SDK's notice (on Node < 22, at the first client) is about SDK releases after January 2027; this
 * package pins an exact SDK version that supports Node 20 (DESIGN 7), so for it the notice is noise in every
 * build and command. The SDK's documented switch is honoured as set; unset, it is set here.
 */
function silenceNodeVersionNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}

/** An endpoint for messages: scheme, host and path, never user info or query. */
export function describeEndpoint(endpoint: string | undefined): string {
  if (!endpoint) return "AWS S3";
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(unparseable endpoint)";
  }
}

/**
 * A client for `config`; each request runs inside `command` under its operation name (HeadObject, …), so
 * a retry can be counted under it.
 */
export function createS3Client(config: S3StorageConfig, hooks: S3Hooks, tuning: S3Tuning, command: AsyncLocalStorage<string>): S3Client {
  const policy = tuning.retry ?? {};
  const timeout = config.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retryPolicy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...policy, maxAttempts: config.maxAttempts ?? policy.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts };
  silenceNodeVersionNotice();
  const client = new S3Client({
    region: config.region || "auto",
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle ?? defaultForcePathStyle(config.endpoint),
    credentials:
      config.accessKeyId && config.secretAccessKey ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } : undefined,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: retryPolicy.maxAttempts,
    retryStrategy: sdkRetryStrategy(retryPolicy, hooks.onRetry, () => command.getStore() ?? "unknown"),
    // requestTimeout: until the response starts; socketTimeout: a stalled body in either direction.
    requestHandler: {
      connectionTimeout: Math.min(timeout, 10_000),
      requestTimeout: timeout,
      socketTimeout: timeout,
      throwOnRequestTimeout: true,
      httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
      httpsAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
    },
  });
  client.middlewareStack.add(
    (next, context) => (args) => command.run(String(context.commandName ?? "unknown").replace(/Command$/, ""), () => next(args)),
    { step: "initialize", name: "pfsOperationName" },
  );
  return client;
}
