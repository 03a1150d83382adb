import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { backoffDelay, DEFAULT_RETRY_POLICY, isTransient, sdkRetryStrategy, shouldRetry } from "../src/blobs/retry.js";
import { PfsError } from "../src/errors/index.js";

const sdkError = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const netError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe("retry policy: which failures are transient", () => {
  it.each([
    ["503 ServiceUnavailable", sdkError("ServiceUnavailable", 503)],
    ["500 InternalError", sdkError("InternalError", 500)],
    ["502 with an unknown name", sdkError("Unknown", 502)],
    ["429 SlowDown", sdkError("SlowDown", 429)],
    ["503 SlowDown", sdkError("SlowDown", 503)],
    ["S3's RequestTimeout sent as 400", sdkError("RequestTimeout", 400)],
    ["a client-side TimeoutError", Object.assign(new Error("timed out"), { name: "TimeoutError" })],
    ["ECONNRESET", netError("ECONNRESET")],
    ["ECONNREFUSED", netError("ECONNREFUSED")],
    ["EPIPE", netError("EPIPE")],
    ["ETIMEDOUT", netError("ETIMEDOUT")],
    ["socket hang up", new Error("socket hang up")],
    ["a reset wrapped as cause", new Error("request failed", { cause: netError("ECONNRESET") })],
  ])("retries %s", (_label, err) => {
    expect(isTransient(err)).toBe(true);
  });

  it.each([
    ["403 AccessDenied", sdkError("AccessDenied", 403)],
    ["403 SignatureDoesNotMatch", sdkError("SignatureDoesNotMatch", 403)],
    ["403 InvalidAccessKeyId", sdkError("InvalidAccessKeyId", 403)],
    ["404 NoSuchKey", sdkError("NoSuchKey", 404)],
    ["404 NoSuchBucket", sdkError("NoSuchBucket", 404)],
    ["400 InvalidArgument", sdkError("InvalidArgument", 400)],
    ["an abort by the caller", Object.assign(new Error("aborted"), { name: "AbortError" })],
    ["our own size-limit error", new PfsError("INVALID_CONTENT", "too large")],
    ["a plain programming error", new TypeError("x is not a function")],
    ["null", null],
  ])("does not retry %s", (_label, err) => {
    expect(isTransient(err)).toBe(false);
  });

  it("stops at maxAttempts even for transient failures", () => {
    const err = sdkError("ServiceUnavailable", 503);
    expect(shouldRetry(err, 1, { ...DEFAULT_RETRY_POLICY, maxAttempts: 3 })).toBe(true);
    expect(shouldRetry(err, 3, { ...DEFAULT_RETRY_POLICY, maxAttempts: 3 })).toBe(false);
  });
});

describe("retry policy: backoff", () => {
  it("grows exponentially, stays within [exp/2, exp] and never passes the cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 60_000 }),
        (retry, r, base, cap) => {
          const policy = { maxAttempts: 5, baseDelayMs: base, maxDelayMs: cap };
          const exp = Math.min(cap, base * 2 ** (retry - 1));
          const d = backoffDelay(retry, policy, () => r);
          expect(d).toBeGreaterThanOrEqual(Math.floor(exp / 2));
          expect(d).toBeLessThanOrEqual(Math.ceil(exp));
          expect(d).toBeLessThanOrEqual(cap);
        },
      ),
    );
  });

  it("is jittered: the same retry number gives different delays for different draws", () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5000 };
    expect(backoffDelay(3, policy, () => 0)).toBe(200);
    expect(backoffDelay(3, policy, () => 0.999)).toBe(400);
  });
});

describe("retry policy as an SDK retry strategy", () => {
  it("counts each retry through onRetry, names the operation, and gives up on a non-transient error", async () => {
    const retried: string[] = [];
    const strategy = sdkRetryStrategy({ maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 }, (op) => retried.push(op), () => "PutObject", () => 0.5);
    let token = await strategy.acquireInitialRetryToken("");
    token = await strategy.refreshRetryTokenForRetry(token, { error: sdkError("SlowDown", 503) });
    expect(token.getRetryCount()).toBe(1);
    expect(token.getRetryDelay()).toBe(8); // 10/2 + 0.5 × 10/2, rounded
    token = await strategy.refreshRetryTokenForRetry(token, { error: netError("ECONNRESET") });
    expect(retried).toEqual(["PutObject", "PutObject"]);
    // Third failure: attempts exhausted.
    await expect(strategy.refreshRetryTokenForRetry(token, { error: sdkError("SlowDown", 503) })).rejects.toMatchObject({ name: "SlowDown" });
    // A 403 is final at once.
    const fresh = await strategy.acquireInitialRetryToken("");
    await expect(strategy.refreshRetryTokenForRetry(fresh, { error: sdkError("AccessDenied", 403) })).rejects.toMatchObject({ name: "AccessDenied" });
    expect(retried).toHaveLength(2);
  });
});
