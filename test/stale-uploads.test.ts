/**
 * Uploads left by writes that died (issue 9, finding 2): verify lists them within / past grace, and
 * gc and repair remove those past grace — a partial local temp file after a SIGKILL mid-upload, and
 * an S3 multipart upload that was never completed.
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateMultipartUploadCommand, S3Client, UploadPartCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { openStore } from "../src/index.js";
import { makeBackend, makeS3Bucket } from "./support/backends.js";
import { startMultipartLedgerProxy } from "./support/multipart-ledger-proxy.js";
import { S3RVER_ACCESS_KEY, S3RVER_SECRET } from "./support/s3rver.js";

const WORKER = fileURLToPath(new URL("./support/upload-worker.mjs", import.meta.url));

/** Local temp files (`*.<uuid>.tmp`) anywhere in the object folder. */
async function partialFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((n) => n.endsWith(".tmp"));
}

describe("a streamed local upload killed half-way", () => {
  it("leaves a temp file that verify reports (within, then past grace) and gc with grace 0 removes", async () => {
    const instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    try {
      const objects = join(instance.dir, "objects");
      const child = spawn(process.execPath, [WORKER], { env: { ...process.env, PFS_WORKER_OPTIONS: JSON.stringify(instance.options) }, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d) => {
          out += d;
          if (out.includes("HALF")) resolve();
        });
        child.on("exit", (code) => reject(new Error(`the writer exited (${code}) before the kill: ${out}`)));
      });
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("close", resolve));
      expect(out).not.toContain("FINISHED");

      const leftovers = await partialFiles(objects);
      expect(leftovers).toHaveLength(1);
      const size = (await stat(join(objects, leftovers[0]!))).size;
      expect(size).toBeGreaterThan(0);

      const store = await openStore(instance.options); // takes over the dead writer's journal lock
      try {
        const fresh = await store.verify({ graceSeconds: 3600 });
        expect(fresh.tempUploads).toMatchObject([{ kind: "partial-file", key: leftovers[0]!.split("\\").join("/"), size, pastGrace: false }]);
        expect(fresh.ok).toBe(true); // within grace it may still be a live upload: not a problem yet

        const past = await store.verify({ graceSeconds: 0 });
        expect(past.tempUploads).toMatchObject([{ kind: "partial-file", pastGrace: true }]);
        expect(past.ok).toBe(false);

        const kept = await store.gc({ graceSeconds: 3600 });
        expect(kept.abortedUploads).toEqual([]);
        expect(await partialFiles(objects)).toHaveLength(1);

        const dry = await store.gc({ graceSeconds: 0, dryRun: true });
        expect(dry.abortedUploads.map((u) => u.key)).toEqual([fresh.tempUploads[0]!.key]);
        expect(await partialFiles(objects)).toHaveLength(1);

        const gc = await store.gc({ graceSeconds: 0 });
        expect(gc.abortedUploads.map((u) => u.key)).toEqual([fresh.tempUploads[0]!.key]);
        expect(gc.deletedBytes).toBeGreaterThanOrEqual(size);
        expect(await partialFiles(objects)).toEqual([]);
        const after = await store.verify({ graceSeconds: 0 });
        expect(after.tempUploads).toEqual([]);
        expect(after.ok).toBe(true);
        // The upload never committed: the journal has no row for it.
        expect(await store.list({ bookId: "stale-book" })).toEqual([]);
      } finally {
        await store.close();
      }
    } finally {
      await instance.cleanup();
    }
  }, 60_000);

  it("repair removes a partial file past grace too", async () => {
    const instance = await makeBackend({ name: "pglite+local", db: "pglite", storage: "local" });
    const store = await openStore(instance.options);
    try {
      // What a writer that died inside LocalObjectStorage leaves: `<target>.<uuid>.tmp`.
      const dir = join(instance.dir, "objects", "objects", "sha256", "ab");
      await mkdir(dir, { recursive: true });
      const name = `ab${"0".repeat(62)}.1b4e28ba-2fa1-11d2-883f-0016d3cca427.tmp`;
      await writeFile(join(dir, name), "partial");
      const repaired = await store.repair({ graceSeconds: 0 });
      expect(repaired.before.tempUploads.map((t) => t.key)).toEqual([`objects/sha256/ab/${name}`]);
      expect(repaired.fixed.abortedUploads).toEqual([`objects/sha256/ab/${name}`]);
      expect(await partialFiles(join(instance.dir, "objects"))).toEqual([]);
    } finally {
      await store.close();
      await instance.cleanup();
    }
  });
});

describe("an S3 server without ListMultipartUploads (s3rver itself)", () => {
  it("verify says unfinished uploads were not checked instead of failing or claiming there are none", async () => {
    const instance = await makeBackend({ name: "pglite+s3", db: "pglite", storage: "s3" });
    const store = await openStore(instance.options);
    try {
      const report = await store.verify({ graceSeconds: 0 });
      expect(report.unfinishedUploadsUnchecked).toMatch(/does not support ListMultipartUploads/);
      expect(report.ok).toBe(true);
      expect((await store.gc({ graceSeconds: 0 })).abortedUploads).toEqual([]);
    } finally {
      await store.close();
      await instance.cleanup();
    }
  });
});

describe("an S3 multipart upload never completed (s3rver behind a FAKE ListMultipartUploads/Abort ledger proxy)", () => {
  it("verify reports it within / past grace, gc aborts only those past grace and only under the store's prefix", async () => {
    const bucket = await makeS3Bucket();
    const proxy = await startMultipartLedgerProxy(bucket.endpoint);
    const storage = { ...bucket, endpoint: proxy.url, prefix: "site-a" };
    const instance = await makeBackend({ name: "pglite+s3", db: "pglite", storage: "s3" }, { storage });
    const sdk = new S3Client({ region: "auto", endpoint: proxy.url, forcePathStyle: true, credentials: { accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET } });
    const store = await openStore(instance.options);
    try {
      // A writer that died after its first part: created with the SDK and left open.
      const leave = async (key: string) => {
        const { UploadId } = await sdk.send(new CreateMultipartUploadCommand({ Bucket: bucket.bucket, Key: key }));
        await sdk.send(new UploadPartCommand({ Bucket: bucket.bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }));
        return UploadId!;
      };
      const ours = await leave("site-a/tmp/0f6e0c62-dead-4bad-8a11-000000000001");
      const other = await leave("site-b/tmp/not-this-store");
      // A completed write through the store leaves no open upload behind.
      await store.write({ bookId: "s3-book", path: "static/videos/x.bin", content: Readable.from([Buffer.alloc(9 * 1024 * 1024, 2)]), agentId: "uploader" });

      const fresh = await store.verify({ graceSeconds: 3600 });
      expect(fresh.tempUploads).toMatchObject([{ kind: "multipart", key: "tmp/0f6e0c62-dead-4bad-8a11-000000000001", uploadId: ours, pastGrace: false }]);
      expect(fresh.ok, JSON.stringify(fresh)).toBe(true);
      expect(fresh.unfinishedUploadsUnchecked).toBeUndefined();
      expect((await store.gc({ graceSeconds: 3600 })).abortedUploads).toEqual([]);
      expect(proxy.aborted).toEqual([]);

      const past = await store.verify({ graceSeconds: 0 });
      expect(past.tempUploads).toMatchObject([{ kind: "multipart", uploadId: ours, pastGrace: true }]);
      expect(past.ok).toBe(false);

      const gc = await store.gc({ graceSeconds: 0 });
      expect(gc.abortedUploads.map((u) => u.uploadId)).toEqual([ours]);
      expect(proxy.aborted).toEqual([ours]);
      expect(proxy.open.map((u) => u.uploadId)).toEqual([other]); // another prefix is not ours to touch
      const after = await store.verify({ graceSeconds: 0 });
      expect(after.tempUploads).toEqual([]);
      expect(after.ok).toBe(true);
    } finally {
      sdk.destroy();
      await store.close();
      await proxy.close();
      await instance.cleanup();
    }
  }, 60_000);
});
