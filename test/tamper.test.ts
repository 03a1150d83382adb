/**
 * Issue 14, the smaller findings: an object planted at the address of a later write is repaired by
 * that write; look-alike names (UTS #39 skeletons per folder, mixed-script look-alikes) are refused
 * before anything changes; an archive's errors.json names nothing of the server when S3 is down; and
 * the folders and files a store creates are private whatever the umask.
 * (The anchor attacks of issue 14 are in anchors.test.ts, the lock in lock.test.ts.)
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore, sha256Hex, type Store } from "../src/index.js";
import { archiveOp } from "../src/store/archive.js";
import { objectKey } from "../src/blobs/keys.js";
import { assertSafePath } from "../src/paths/index.js";
import { findLookalike, skeleton } from "../src/paths/lookalike.js";
import { BACKENDS, makeBackend, openStoreFor } from "./support/backends.js";
import { collectStream, unzip } from "./support/zip.js";

const PAGE = "content/01-part/01-chapter/01-page.md";

describe("look-alike names (pure)", () => {
  it("skeletons equate the issue's look-alikes and keep plain ASCII names apart", () => {
    expect(skeleton("сасе")).toBe(skeleton("cace")); // all Cyrillic
    expect(skeleton("ᏞOGO")).toBe(skeleton("LOGO")); // Cherokee TLE
    expect(skeleton("lօgo.png")).toBe("logo.png"); // Armenian o
    expect(skeleton("logoꓸpng")).toBe("logo.png"); // Lisu tone mark that reads as a full stop
    expect(skeleton("corn.md")).not.toBe(skeleton("com.md")); // ASCII never maps
    expect(skeleton("café.md")).not.toBe(skeleton("cafe.md"));
  });

  it("findLookalike compares siblings level by level", () => {
    const existing = ["static/img/logo.png", "content/cace/01-a.md", "content/other/LOGO"];
    expect(findLookalike("content/сасе/01-a.md", existing)).toEqual({ existing: "content/cace/01-a.md", segment: "сасе", like: "cace" });
    expect(findLookalike("static/img/lօgo.png", existing)?.like).toBe("logo.png");
    expect(findLookalike("content/other/ᏞOGO", existing)?.like).toBe("LOGO");
    expect(findLookalike("content/elsewhere/ᏞOGO", existing)).toBeNull(); // another folder
    expect(findLookalike("static/img/logo.png", existing)).toBeNull(); // the same name is no look-alike
  });

  it("mixed-script look-alikes are refused on their own, with the character named", () => {
    for (const [path, char] of [
      ["static/img/lօgo.png", "U+0585"],
      ["static/img/logoꓸpng", "U+A4F8"],
      ["static/img/ᏞOGO.png", "U+13DE"],
    ] as const) {
      expect(() => assertSafePath(path)).toThrow(expect.objectContaining({ code: "INVALID_PATH", message: expect.stringContaining(char) }));
    }
    expect(() => assertSafePath("content/сасе/01-a.md")).not.toThrow(); // one script: judged against its siblings
    expect(() => assertSafePath("content/kılavuz/01-a.md")).not.toThrow(); // Turkish dotless i is Latin
  });
});

describe.each(BACKENDS)("repair and look-alikes on $name", (backend) => {
  let store: Store;
  openStoreFor(backend, (s) => (store = s));

  it("garbage planted at the address of a later write is repaired by that write (it used to be skipped as stored)", async () => {
    const bookId = "planted";
    for (const [i, garbage] of [Buffer.from("garbage of another size"), Buffer.from("X".repeat(19))].entries()) {
      const bytes = Buffer.from(`# page ${i}\n\nbody\n`); // 19 bytes: the second garbage has the same size
      const hash = sha256Hex(bytes);
      await store.ctx.blobs.storage.putBuffer(objectKey(hash), garbage);
      const path = `content/01-part/01-chapter/0${i + 1}-p.md`;
      const w = await store.write({ bookId, path, content: bytes, agentId: "author" });
      expect(w).toMatchObject({ mode: "created", hash });
      expect((await store.read({ bookId, path })).content.equals(bytes)).toBe(true);
      expect((await store.verify({ bookId })).objectProblems).toEqual([]);
    }
  });

  it("a name that looks like its sibling is refused before anything is stored, naming the sibling", async () => {
    const bookId = "lookalike";
    await store.write({ bookId, path: "static/img/cace/a.png", content: Buffer.from("a"), agentId: "author" });
    await store.write({ bookId, path: "static/img/logo.png", content: Buffer.from("png"), agentId: "author" });
    const before = await store.list({ bookId });
    const auditBefore = (await store.audit({ bookId })).entries.length;
    let objects = 0;
    for await (const _ of store.ctx.blobs.list()) objects++;
    for (const [path, says] of [
      ["static/img/сасе/b.png", "already exists in the same folder (static/img/cace/a.png)"],
      ["static/img/lօgo.png", `mixes plain letters with "օ" (U+0585), which reads as "o"`],
    ] as const) {
      const err = await store.write({ bookId, path, content: "# look-alike\n", agentId: "mallory" }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "INVALID_PATH", message: expect.stringContaining(says) });
    }
    expect(await store.list({ bookId })).toEqual(before);
    let after = 0;
    for await (const _ of store.ctx.blobs.list()) after++;
    expect(after).toBe(objects); // nothing uploaded
    const audit = (await store.audit({ bookId })).entries;
    expect(audit.length).toBe(auditBefore + 2); // the refusals are on the record, as rejected
    expect(audit.slice(0, 2).every((e) => e.status === "rejected" && e.errorCode === "INVALID_PATH")).toBe(true);
    // The original spelling is still writable, and so is a look-alike in another folder.
    await store.write({ bookId, path: "static/img/cace/b.png", content: Buffer.from("b"), agentId: "author" });
    await store.write({ bookId, path: "static/img/other/сасе/a.png", content: Buffer.from("c"), agentId: "author" });
  });
});

describe("an archive's errors.json while S3 is down (postgres+s3)", () => {
  it("names the book paths and codes only: no bucket, endpoint, prefix or server path", async () => {
    const instance = await makeBackend(BACKENDS.find((b) => b.db === "postgres" && b.storage === "s3")!);
    try {
      const s3 = instance.options.storage as { bucket: string; endpoint: string };
      const prefix = "secret-prefix/";
      let store = await openStore({ ...instance.options, storage: { ...(instance.options.storage as object), prefix } as never, anchors: false });
      const bookId = "s3-down";
      await store.write({ bookId, path: PAGE, content: "# one\n", agentId: "author" });
      await store.close();
      // A real outage: the same bucket behind an endpoint where nothing listens.
      const deadEndpoint = "http://127.0.0.1:9";
      store = await openStore({ ...instance.options, storage: { ...(instance.options.storage as object), prefix, endpoint: deadEndpoint, maxAttempts: 1 } as never, anchors: false });
      try {
        const stream = archiveOp(store.ctx, { bookId, scope: "all" });
        const entries = await unzip(await collectStream(stream));
        const summary = await stream.summary;
        expect(summary.errors.map((e) => e.code)).toEqual(["STORAGE_UNAVAILABLE"]);
        const errorsJson = entries.find((e) => e.name === "errors.json")!.data.toString("utf8");
        expect(JSON.parse(errorsJson).errors).toEqual([{ path: PAGE, code: "STORAGE_UNAVAILABLE", message: "Object storage could not be read; try again later." }]);
        for (const secret of [s3.bucket, deadEndpoint, "127.0.0.1", prefix.slice(0, -1), instance.dir, s3.endpoint]) expect(errorsJson).not.toContain(secret);
        expect(JSON.stringify(summary.errors)).not.toContain(s3.bucket);
      } finally {
        await store.close();
      }
    } finally {
      await instance.cleanup();
    }
  }, 120_000);
});

describe("private folders and files (pglite+local)", () => {
  it("a new store's data, journal and object folders are 0700 and its files 0600, even with umask 000", async () => {
    const root = await mkdtemp(join(tmpdir(), "pfs-modes-"));
    const dataDir = join(root, "data");
    const old = process.umask(0);
    try {
      const store = await openStore({ dataDir, storage: { kind: "local", dir: join(dataDir, "objects") } });
      const w = await store.write({ bookId: "modes", path: PAGE, content: "# private\n", agentId: "author" });
      await store.close();
      const mode = async (p: string) => (await stat(p)).mode & 0o777;
      expect(await mode(dataDir)).toBe(0o700);
      expect(await mode(join(dataDir, "journal"))).toBe(0o700);
      expect(await mode(join(dataDir, "objects"))).toBe(0o700);
      const object = join(dataDir, "objects", ...objectKey(w.hash).split("/"));
      expect(await mode(join(object, ".."))).toBe(0o700);
      expect(await mode(object)).toBe(0o600);
    } finally {
      process.umask(old);
      await rm(root, { recursive: true, force: true });
    }
  }, 120_000);
});
