import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex, type ArchiveInput, type Store } from "../src/index.js";
import { archiveOp, type ArchiveStream } from "../src/store/archive.js";
import { objectKey } from "../src/blobs/keys.js";
import { BACKENDS, openStoreFor } from "./support/backends.js";
import { collectStream, unzip } from "./support/zip.js";

const AGENT = "archive-tester";

/** A small book with every kind of path; assets are binary. */
function sampleBook(tag: string): Record<string, Buffer> {
  return {
    "content/preface.md": Buffer.from(`# Preface ${tag}\n`),
    "content/01-basics/README.md": Buffer.from(`# Part one ${tag}\n`),
    "content/01-basics/01-start/README.md": Buffer.from(`# Chapter ${tag}\n`),
    "content/01-basics/01-start/01-hello.md": Buffer.from(`# Hello ${tag}\r\n\r\nkeeps CRLF and trailing spaces   \n`),
    "content/01-basics/01-start/01-hello.summary.md": Buffer.from(`Summary ${tag}\n`),
    "content/01-basics/01-start/02-next.mdx": Buffer.from(`# Next ${tag} \u00e9\u{1F600}\n`),
    "static/img/logo.png": randomBytes(70_000),
    "static/img/empty.svg": Buffer.alloc(0),
    "static/videos/intro/clip.mp4": randomBytes(300_000),
  };
}

describe.each(BACKENDS)("archive on $name", (backend) => {
  let store: Store;
  let n = 0;

  openStoreFor(backend, (s) => (store = s));

  async function bookWith(files: Record<string, Buffer>): Promise<string> {
    const bookId = `arch-book-${++n}`;
    for (const [path, content] of Object.entries(files)) await store.write({ bookId, path, content, agentId: AGENT });
    return bookId;
  }

  async function archive(input: ArchiveInput, stream: ArchiveStream = store.archive(input)) {
    const zip = await collectStream(stream);
    return { zip, entries: await unzip(zip), summary: await stream.summary };
  }

  /**
   * Entries as name + size + SHA-256 of their bytes: equal digests mean equal bytes, and comparing them is
   * fast (deep-equality on large Buffers walks them element by element).
   */
  const digest = (es: { name: string; data: Buffer }[]) => es.map((e) => ({ name: e.name, size: e.data.length, sha256: sha256Hex(e.data) }));

  /** The snapshot's files with their bytes, read back through the store. */
  async function expected(bookId: string, userId?: string): Promise<{ name: string; data: Buffer }[]> {
    const snap = await store.snapshot({ bookId, userId });
    const out = [];
    for (const f of snap.files) {
      const asUser = f.path.startsWith("content/") ? userId : undefined; // overlays exist only for content
      out.push({ name: f.path, data: (await store.read({ bookId, path: f.path, userId: asUser })).content });
    }
    return out;
  }

  it("contains the snapshot byte for byte, in path byte order, markdown deflated and assets stored", async () => {
    const files = sampleBook("a");
    const bookId = await bookWith(files);
    const { entries, summary } = await archive({ bookId, scope: "all" });
    const want = await expected(bookId);
    // Also against the bytes originally written, not only what the store reads back.
    for (const e of entries) expect(e.data.equals(files[e.name]!)).toBe(true);
    expect(entries.map((e) => e.name)).toEqual([...want.map((w) => w.name)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(digest(entries)).toEqual(digest(want));
    entries.forEach((e, i) => expect(e.data.equals(want[i]!.data)).toBe(true));
    for (const e of entries) expect(e.compressed).toBe(e.name.startsWith("content/"));
    expect(summary).toMatchObject({ status: "complete", files: want.length, errors: [], resumeAfter: null });
    expect(summary.manifestHash).toBe((await store.snapshot({ bookId })).manifestHash);
    expect(summary.bytes).toBe(want.reduce((s, w) => s + w.data.length, 0));
  });

  it("spools objects larger than the in-memory limit and still matches byte for byte", async () => {
    // Two paths sharing one object are spooled while both are in flight.
    const same = randomBytes(50_000);
    const bookId = await bookWith({ ...sampleBook("spool"), "static/img/copy-1.png": same, "static/img/copy-2.png": same });
    const tuning = { bufferLimit: 1024, readAheadItems: 3, readAheadBytes: 4096 };
    const { entries } = await archive({ bookId, scope: "all" }, archiveOp(store.ctx, { bookId, scope: "all" }, tuning));
    expect(digest(entries)).toEqual(digest(await expected(bookId)));
    expect(entries.filter((e) => e.data.equals(same)).map((e) => e.name)).toEqual(["static/img/copy-1.png", "static/img/copy-2.png"]);
  });

  it("is byte-identical for the same manifest", async () => {
    const bookId = await bookWith(sampleBook("same"));
    const first = await archive({ bookId, scope: "all" });
    const second = await archive({ bookId, scope: "all" });
    expect(sha256Hex(second.zip)).toBe(sha256Hex(first.zip));
  });

  it("honours the scope", async () => {
    const bookId = await bookWith(sampleBook("scope"));
    const all = (await expected(bookId)).map((w) => w.name);
    const content = (await archive({ bookId, scope: "content" })).entries.map((e) => e.name);
    const assets = (await archive({ bookId, scope: "assets" })).entries.map((e) => e.name);
    expect(content).toEqual(all.filter((p) => p.startsWith("content/")));
    expect(assets).toEqual(all.filter((p) => p.startsWith("static/")));
    expect(content.length).toBe(6);
    expect(assets.length).toBe(3);
  });

  it("includes a user's overlays only when asked, in place of the base file", async () => {
    const bookId = await bookWith(sampleBook("ov"));
    const lesson = "content/01-basics/01-start/01-hello.md";
    await store.write({ bookId, path: lesson, content: "# For student 1\n", userId: "student-1", agentId: AGENT });
    await store.write({ bookId, path: lesson, content: "# For student 2\n", userId: "student-2", agentId: AGENT });
    const base = await archive({ bookId, scope: "content" });
    const mine = await archive({ bookId, scope: "content", userId: "student-1" });
    const byName = (es: { name: string; data: Buffer }[]) => new Map(es.map((e) => [e.name, e.data.toString("utf8")]));
    expect(byName(base.entries).get(lesson)).toMatch(/^# Hello ov/);
    expect(byName(mine.entries).get(lesson)).toBe("# For student 1\n");
    expect(mine.entries.map((e) => e.name)).toEqual(base.entries.map((e) => e.name));
    expect(digest(mine.entries)).toEqual(digest((await expected(bookId, "student-1")).filter((w) => w.name.startsWith("content/"))));
    // Overlays never change the manifest.
    expect(mine.summary.manifestHash).toBe(base.summary.manifestHash);
  });

  it("skips a corrupt and a missing object and lists them in a final errors.json", async () => {
    const files = sampleBook("bad");
    const bookId = await bookWith(files);
    const corruptPath = "static/img/logo.png";
    const missingPath = "content/preface.md";
    const corruptHash = sha256Hex(files[corruptPath]!);
    const missingHash = sha256Hex(files[missingPath]!);
    // Damage storage behind the store's back, as a failing disk or a bad sync would.
    await store.ctx.blobs.storage.putBuffer(objectKey(corruptHash), Buffer.from("not the original bytes"));
    await store.ctx.blobs.delete(missingHash);

    for (const tuning of [undefined, { bufferLimit: 1024, readAheadItems: 2, readAheadBytes: 2048 }]) {
      const stream = archiveOp(store.ctx, { bookId, scope: "all" }, tuning);
      const { entries, summary } = await archive({ bookId, scope: "all" }, stream);
      const names = entries.map((e) => e.name);
      expect(names).not.toContain(corruptPath);
      expect(names).not.toContain(missingPath);
      expect(names.at(-1)).toBe("errors.json");
      expect(names.length).toBe(Object.keys(files).length - 2 + 1);
      const report = JSON.parse(entries.at(-1)!.data.toString("utf8"));
      expect(report.errors).toEqual([
        { path: missingPath, code: "INTEGRITY_ERROR", message: expect.stringMatching(/missing/) },
        { path: corruptPath, code: "INTEGRITY_ERROR", message: expect.stringMatching(/corrupt/) },
      ]);
      expect(summary.errors.map((e) => e.hash)).toEqual([missingHash, corruptHash]);
      // errors.json: book path, code and a generic message only (issue 14: nothing of the server).
      expect(summary.errors.map(({ path, code, message }) => ({ path, code, message }))).toEqual(report.errors);
      // Everything else is intact.
      for (const e of entries.slice(0, -1)) expect(e.data.equals(files[e.name]!)).toBe(true);
    }
  });

  it("stops at the deadline with manifest.json and resume_after, and resuming completes the book", async () => {
    const bookId = await bookWith(sampleBook("deadline"));
    const want = await expected(bookId);
    const snap = await store.snapshot({ bookId });
    const got: { name: string; data: Buffer }[] = [];
    let resumeAfter: string | undefined;
    let parts = 0;
    for (;;) {
      // A zero budget still writes one file per archive, so every part makes progress.
      const { entries, summary } = await archive({ bookId, scope: "all", deadlineMs: 0, resumeAfter });
      parts++;
      const last = entries.at(-1)!;
      if (last.name !== "manifest.json") {
        expect(summary).toMatchObject({ status: "complete", resumeAfter: null });
        got.push(...entries.map(({ name, data }) => ({ name, data })));
        break;
      }
      const manifest = JSON.parse(last.data.toString("utf8"));
      expect(manifest).toMatchObject({ bookId, manifestHash: snap.manifestHash, complete: false, resume_after: entries[0]!.name });
      expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(want.map((w) => w.name));
      expect(summary).toMatchObject({ status: "deadline", resumeAfter: manifest.resume_after });
      expect(entries.length).toBe(2);
      got.push({ name: entries[0]!.name, data: entries[0]!.data });
      resumeAfter = manifest.resume_after;
      expect(parts).toBeLessThan(50);
    }
    expect(parts).toBe(want.length);
    expect(digest(got)).toEqual(digest(want));
  });

  it("gives a valid empty archive for an empty book (and for a scope with nothing in it)", async () => {
    const empty = await archive({ bookId: "never-written-book", scope: "all" });
    expect(empty.entries).toEqual([]);
    expect(empty.summary).toMatchObject({ status: "complete", files: 0, errors: [] });
    const bookId = await bookWith({ "content/preface.md": Buffer.from("only text\n") });
    expect((await archive({ bookId, scope: "assets" })).entries).toEqual([]);
  });

  it("stops reading when the consumer goes away", async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 40; i++) files[`static/img/big-${String(i).padStart(2, "0")}.bin`] = randomBytes(200_000);
    const bookId = await bookWith(files);
    const stream = store.archive({ bookId, scope: "all" });
    for await (const _chunk of stream) break; // destroys the stream after the first chunk
    const summary = await stream.summary;
    expect(summary.status).toBe("aborted");
    expect(summary.files).toBeLessThan(40);
    expect(await store.metrics()).toMatch(/^panaversityfs_archive_total\{scope="all",status="aborted"\} 1$/m);
  });

  it("rejects bad arguments before streaming anything", () => {
    expect(() => store.archive({ bookId: "a-book", scope: "everything" as "all" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => store.archive({ bookId: "a-book", scope: "all", deadlineMs: -1 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => store.archive({ bookId: "a-book", scope: "all", resumeAfter: "" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => store.archive({ bookId: "a-book", scope: "all", userId: "no spaces" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
