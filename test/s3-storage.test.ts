import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStorage, normalizePrefix, describeEndpoint, PART_SIZE } from "../src/blobs/s3.js";
import { openStore, type S3StorageConfig } from "../src/index.js";
import { isPfsError } from "../src/errors/index.js";
import { makeBackend, makeS3Bucket } from "./support/backends.js";
import { S3RVER_ACCESS_KEY, S3RVER_SECRET } from "./support/s3rver.js";

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function keys(storage: S3ObjectStorage, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list(prefix)) out.push(o.key);
  return out;
}

describe("S3ObjectStorage on s3rver", () => {
  let config: S3StorageConfig;
  let storage: S3ObjectStorage;
  const retries: string[] = [];

  beforeAll(async () => {
    config = { ...(await makeS3Bucket()), prefix: "/tenant-a/" };
    storage = new S3ObjectStorage(config, { onRetry: (op) => retries.push(op) }, { listPageSize: 7 });
  });
  afterAll(() => storage.close());

  it("normalizes prefixes and describes endpoints without user info", () => {
    expect(normalizePrefix(undefined)).toBe("");
    expect(normalizePrefix("/a/b//")).toBe("a/b/");
    expect(describeEndpoint("https://user:pw@acct.r2.cloudflarestorage.com/?x=1")).toBe("https://acct.r2.cloudflarestorage.com");
    expect(storage.description).toContain('under "tenant-a/"');
  });

  it("puts, heads and reads a buffer; a missing key is null on head and NOT_FOUND on read", async () => {
    await storage.putBuffer("a/one.txt", Buffer.from("hello"));
    expect(await storage.head("a/one.txt")).toMatchObject({ key: "a/one.txt", size: 5 });
    expect((await drain(await storage.getStream("a/one.txt"))).toString()).toBe("hello");
    expect(await storage.head("a/missing")).toBeNull();
    await expect(storage.getStream("a/missing")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await storage.delete("a/missing"); // deleting what is not there succeeds
  });

  it("keeps every key under its prefix, so two stores can share a bucket", async () => {
    const other = new S3ObjectStorage({ ...config, prefix: "tenant-b" });
    try {
      await other.putBuffer("a/one.txt", Buffer.from("other tenant"));
      expect((await drain(await storage.getStream("a/one.txt"))).toString()).toBe("hello");
      const raw = new S3Client({ endpoint: config.endpoint, region: "auto", forcePathStyle: true, credentials: { accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET } });
      const listed = await raw.send(new ListObjectsV2Command({ Bucket: config.bucket }));
      raw.destroy();
      const rawKeys = (listed.Contents ?? []).map((o) => o.Key);
      expect(rawKeys).toContain("tenant-a/a/one.txt");
      expect(rawKeys).toContain("tenant-b/a/one.txt");
    } finally {
      await other.close();
    }
  });

  it("lists across continuation tokens in key order, without the prefix", async () => {
    const names = Array.from({ length: 23 }, (_, i) => `list/${String(i).padStart(3, "0")}`);
    for (const n of names) await storage.putBuffer(n, Buffer.from(n));
    expect(await keys(storage, "list/")).toEqual(names); // 23 keys over pages of 7
  });

  it("moves (copy + delete) and copies keys with spaces and non-ASCII characters", async () => {
    await storage.putBuffer("tmp/src", Buffer.from("move me"));
    await storage.move("tmp/src", "static/img/ü ber/ñ x.png");
    expect(await storage.head("tmp/src")).toBeNull();
    expect((await drain(await storage.getStream("static/img/ü ber/ñ x.png"))).toString()).toBe("move me");
    await storage.copy("static/img/ü ber/ñ x.png", "books/b/copy.png");
    expect((await drain(await storage.getStream("books/b/copy.png"))).toString()).toBe("move me");
    await expect(storage.move("tmp/nothing-here", "x")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("streams an unknown-length body as a multipart upload and reads it back byte for byte", async () => {
    const size = 2 * PART_SIZE + 12345; // three parts, the last one short
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    const sha = createHash("sha256");
    const body = new Readable({
      read() {
        if (sent >= size) return this.push(null);
        const n = Math.min(chunk.length, size - sent);
        const piece = Buffer.from(chunk.subarray(0, n).map((_, i) => (sent + i) % 251));
        sha.update(piece);
        sent += n;
        this.push(piece);
      },
    });
    await storage.putStream("big/object", body);
    const expected = sha.digest("hex");
    const got = createHash("sha256");
    let received = 0;
    for await (const c of await storage.getStream("big/object")) {
      got.update(c as Buffer);
      received += (c as Buffer).length;
    }
    expect(received).toBe(size);
    expect(got.digest("hex")).toBe(expected);
  });

  it("passes a failure of the body stream through instead of storing a partial object", async () => {
    const body = new Readable({ read() {} });
    const done = storage.putStream("broken/object", body);
    body.push(Buffer.alloc(1000));
    body.destroy(new Error("the client went away"));
    await expect(done).rejects.toThrow();
    expect(await storage.head("broken/object")).toBeNull();
  });

  it("never retried anything in these tests (no transient failures happened)", () => {
    expect(retries).toEqual([]);
  });
});

describe("credentials never leak", () => {
  const ACCESS_KEY = "AKIAPFSLEAKCHECK0042";
  const SECRET = "pfs/Secret+Key/MustNeverLeak-0123456789abcdef";

  it("an auth failure gives STORAGE_UNAVAILABLE with a hint, and no key material in the error, logs, audit or metrics", async () => {
    const instance = await makeBackend({ name: "pglite+s3", db: "pglite", storage: "s3" });
    // The book exists (refusals are audited only in books that have a chain), written with good credentials.
    const seeding = await openStore(instance.options);
    await seeding.write({ bookId: "secret-book", path: "content/intro.md", content: "# intro", agentId: "tester" });
    await seeding.close();
    const storage = { ...(instance.options.storage as S3StorageConfig), accessKeyId: ACCESS_KEY, secretAccessKey: SECRET };
    const store = await openStore({ ...instance.options, storage });
    const output: string[] = [];
    const originals = { stdout: process.stdout.write, stderr: process.stderr.write, warn: console.warn, error: console.error, log: console.log, info: console.info, debug: console.debug };
    const capture = (...args: unknown[]) => {
      output.push(args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 8 }))).join(" "));
      return true;
    };
    let err: unknown;
    try {
      process.stdout.write = capture as typeof process.stdout.write;
      process.stderr.write = capture as typeof process.stderr.write;
      console.warn = console.error = console.log = console.info = console.debug = capture;
      // s3rver answers InvalidAccessKeyId and echoes the key id in its error body (as some servers do).
      err = await store.write({ bookId: "secret-book", path: "content/01-Part/01-Chapter/01-lesson.md", content: "# hi", agentId: "tester" }).catch((e) => e);
      const readErr = await store.read({ bookId: "secret-book", path: "content/01-Part/01-Chapter/01-lesson.md" }).catch((e) => e);
      output.push(inspect(readErr, { depth: 8 }));
    } finally {
      Object.assign(process.stdout, { write: originals.stdout });
      Object.assign(process.stderr, { write: originals.stderr });
      Object.assign(console, { warn: originals.warn, error: originals.error, log: originals.log, info: originals.info, debug: originals.debug });
    }
    try {
      expect(isPfsError(err, "STORAGE_UNAVAILABLE")).toBe(true);
      const e = err as Error & { details: Record<string, unknown> };
      expect(e.message).toMatch(/credentials were refused/);
      expect(e.details.status).toBe(403);
      const audit = await store.audit({ bookId: "secret-book" });
      expect(audit.entries[0]).toMatchObject({ status: "error", errorCode: "STORAGE_UNAVAILABLE" });
      const surfaces = [
        e.message,
        String(e.stack),
        JSON.stringify(e),
        inspect(e, { depth: 10, showHidden: true }),
        JSON.stringify(audit.entries),
        await store.metrics(),
        store.ctx.blobs.storage.description,
        ...output,
      ].join("\n");
      expect(surfaces).not.toContain(SECRET);
      expect(surfaces).not.toContain(ACCESS_KEY);
    } finally {
      await store.close();
      await instance.cleanup();
    }
  });
});

describe("S3 server unreachable", () => {
  it("a refused connection is retried, then reported as STORAGE_UNAVAILABLE naming the endpoint", async () => {
    const retries: string[] = [];
    // Port 9 on loopback: nothing listens there, connections are refused at once.
    const storage = new S3ObjectStorage(
      { kind: "s3", bucket: "nowhere", endpoint: "http://127.0.0.1:9", accessKeyId: "k", secretAccessKey: "s", maxAttempts: 3 },
      { onRetry: (op) => retries.push(op) },
      { retry: { baseDelayMs: 5, maxDelayMs: 20 } },
    );
    try {
      const err = await storage.putBuffer("x", Buffer.from("x")).catch((e) => e);
      expect(err).toMatchObject({ code: "STORAGE_UNAVAILABLE" });
      expect(err.message).toContain("http://127.0.0.1:9");
      expect(retries).toEqual(["PutObject", "PutObject"]);
    } finally {
      await storage.close();
    }
  });

  it("uses the run's s3rver endpoint from global setup", () => {
    expect(inject("s3Endpoint")).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe("the s3rver child process", () => {
  it("exits by itself when the process that started it is killed (SIGKILL: no teardown runs)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pfs-s3rver-orphan-"));
    const launcher = fileURLToPath(new URL("./support/s3rver-launcher.mjs", import.meta.url));
    // A parent that starts the server the way global setup does, then is killed without warning.
    const parentSource = `
      const { spawn } = require("node:child_process");
      const c = spawn(process.execPath, ["--openssl-legacy-provider", ${JSON.stringify(launcher)}, "--ephemeral", ${JSON.stringify(dir)}], { stdio: ["pipe", "pipe", "inherit"] });
      c.stdout.once("data", (d) => process.stdout.write(JSON.stringify({ pid: c.pid, ...JSON.parse(String(d)) }) + "\\n"));
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ["-e", parentSource], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const { pid, port } = await new Promise<{ pid: number; port: number }>((resolve, reject) => {
        parent.stdout.once("data", (d) => resolve(JSON.parse(String(d))));
        parent.once("exit", () => reject(new Error("parent exited early")));
      });
      expect(port).toBeGreaterThan(0);
      expect(isAlive(pid)).toBe(true);
      parent.kill("SIGKILL");
      let waited = 0;
      while (isAlive(pid) && waited < 15_000) {
        await sleep(100);
        waited += 100;
      }
      expect(isAlive(pid)).toBe(false);
      expect(existsSync(dir)).toBe(false); // --ephemeral: its data folder went with it
    } finally {
      parent.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
