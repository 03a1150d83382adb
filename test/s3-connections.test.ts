/**
 * Connection reuse of the S3 client (issue 11, "fetch faster than the latency"): parallel GETs behind a
 * slow link run as wide as the caller asks — beyond the SDK's default of 50 sockets — and reuse their
 * kept-alive connections instead of opening one per object. Real s3rver, behind a counting proxy that adds latency.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pLimit from "p-limit";
import { S3ObjectStorage } from "../src/blobs/s3.js";
import { makeS3Bucket } from "./support/backends.js";
import { startCountingProxy, type CountingProxy } from "./fixtures/docusaurus/counting-proxy.js";

const OBJECTS = 300;
const CONCURRENCY = 100;

describe("S3 client connections", () => {
  let proxy: CountingProxy;
  let reader: S3ObjectStorage;

  beforeAll(async () => {
    const bucket = await makeS3Bucket();
    const writer = new S3ObjectStorage(bucket);
    const limit = pLimit(16);
    await Promise.all(Array.from({ length: OBJECTS }, (_, i) => limit(() => writer.putBuffer(`k/${i}`, Buffer.from(`object ${i}`)))));
    proxy = await startCountingProxy(bucket.endpoint, { latencyMs: 40 });
    reader = new S3ObjectStorage({ ...bucket, endpoint: proxy.url });
  });

  afterAll(async () => {
    await proxy?.close();
  });

  async function readAll(): Promise<string[]> {
    const limit = pLimit(CONCURRENCY);
    return Promise.all(
      Array.from({ length: OBJECTS }, (_, i) =>
        limit(async () => {
          const chunks: Buffer[] = [];
          for await (const c of await reader.getStream(`k/${i}`)) chunks.push(c as Buffer);
          return Buffer.concat(chunks).toString();
        }),
      ),
    );
  }

  it(`runs ${CONCURRENCY} GETs at once and opens no more connections than that; a second pass opens none`, async () => {
    proxy.reset();
    const first = await readAll();
    expect(first[7]).toBe("object 7");
    // The SDK's default agent would cap this at 50 sockets.
    expect(proxy.peakInFlight()).toBeGreaterThan(50);
    expect(proxy.connections()).toBeLessThanOrEqual(CONCURRENCY);
    proxy.reset();
    await readAll();
    expect(proxy.connections()).toBe(0);
  });
});
