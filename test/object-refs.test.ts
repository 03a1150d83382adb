/**
 * The membership rule of the object route (src/store/object-refs.ts, issue 15): `pfs serve` serves an
 * object only when the token's book references it (its base, or overlays of the users it may read),
 * answered for many concurrent requests by one journal query per book at a time, never from a cache.
 * On both databases, through a real `pfs serve`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, sha256Hex, type Store } from "../src/index.js";
import { MAX_BATCH, referencedSize, refKey } from "../src/store/object-refs.js";
import type { StoreContext } from "../src/store/context.js";
import { objectKey } from "../src/blobs/keys.js";
import { httpSource } from "../src/docusaurus/source/index.js";
import { makeBackend, type BackendInstance, type DbKind } from "./support/backends.js";
import { startSourceServer, type RunningServer } from "./support/source-server.js";

const BOOK = "refs-book";
const OTHER = "refs-other";
const TOKEN = "refs-read-token-0123456789";
const AGENT = "refs-test";
const page = (i: number) => `content/01-Part/01-Chapter/${String(i).padStart(2, "0")}-page.md`;

describe("refKey", () => {
  it("one key per book and set of users, whatever their order or repeats", () => {
    expect(refKey("b", ["bob", "alice", "bob"])).toBe(refKey("b", ["alice", "bob"]));
    expect(refKey("b", [])).not.toBe(refKey("b", ["alice"]));
    expect(refKey("b", "*")).not.toBe(refKey("b", []));
    expect(refKey("b", [])).not.toBe(refKey("c", []));
  });
});

describe.each(["pglite", "postgres"] as DbKind[])("object membership on %s", (db) => {
  let backend: BackendInstance;
  let store: Store;
  let server: RunningServer;
  const hashes: string[] = [];
  let otherHash: string;
  let aliceHash: string;
  const get = (hash: string, users = "") =>
    fetch(`${server.url}/v1/books/${BOOK}/objects/${hash}${users ? `?users=${users}` : ""}`, { headers: { authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    backend = await makeBackend({ name: `${db}+local`, db, storage: "local" });
    store = await openStore(backend.options);
    for (let i = 1; i <= 20; i++) hashes.push((await store.write({ bookId: BOOK, path: page(i), content: `# Page ${i}\n\nREFS-${i}.\n`, agentId: AGENT })).hash);
    otherHash = (await store.write({ bookId: OTHER, path: page(1), content: "# Other\n\nOTHER-BOOK.\n", agentId: AGENT })).hash;
    aliceHash = (await store.write({ bookId: BOOK, path: page(1), userId: "alice", content: "# Alice\n\nALICE-OWN.\n", agentId: AGENT })).hash;
    server = await startSourceServer(store, [{ agent: "refs-ci", token: TOKEN, books: [BOOK], users: ["alice"] }]);
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
    await backend?.cleanup();
  });

  it("concurrent requests answered together each get their own answer: the book's objects 200, others 404", async () => {
    const unreferenced = sha256Hex("never written anywhere");
    const asked = [...hashes, otherHash, unreferenced, aliceHash, ...hashes.slice(0, 5)];
    const answers = await Promise.all(asked.map((h) => get(h)));
    const bodies = await Promise.all(answers.map((r) => r.text()));
    expect(answers.map((r) => r.status)).toEqual([...hashes.map(() => 200), 404, 404, 404, ...hashes.slice(0, 5).map(() => 200)]);
    expect(bodies[0]).toContain("REFS-1.");
    expect(bodies[20]).not.toContain("OTHER-BOOK");
    expect(JSON.parse(bodies[20]!).error.code).toBe("NOT_FOUND");
    // Alice's overlay object counts only when the request names her (and the token may read her overlays).
    expect((await get(aliceHash, "alice")).status).toBe(200);
  });

  it("an object a delete or an edit stopped referencing is refused from then on; the new one is served", async () => {
    const gone = hashes[9]!;
    expect((await get(gone)).status).toBe(200);
    await store.delete({ bookId: BOOK, path: page(10), expectedHash: gone, agentId: AGENT });
    expect((await get(gone)).status).toBe(404);

    const old = hashes[10]!;
    const edited = await store.write({ bookId: BOOK, path: page(11), content: "# Page 11\n\nEDITED.\n", expectedHash: old, agentId: AGENT });
    const [oldAnswer, newAnswer] = await Promise.all([get(old), get(edited.hash)]);
    expect([oldAnswer.status, newAnswer.status]).toEqual([404, 200]);
    expect(await newAnswer.text()).toContain("EDITED.");
  });

  it("an object whose stored bytes were tampered with never reaches the build: the HTTP source refuses it", async () => {
    const hash = hashes[14]!;
    const file = join((backend.options.storage as { dir: string }).dir, ...objectKey(hash).split("/"));
    const good = await readFile(file);
    await writeFile(file, Buffer.from(good.toString().replace("REFS-15", "EVIL-15")));
    try {
      // A plain client (no hash check of its own) gets no complete wrong object either: the server holds the
      // last chunk back until the bytes are checked, and cuts the response when they are wrong.
      const plain = await get(hash).then(
        (r) => r.text(),
        () => "",
      ).catch(() => "");
      expect(plain).not.toContain("EVIL-15");
      const source = httpSource({ url: server.url, token: TOKEN });
      try {
        const err = await source.session(async (s) => {
          const body = await s.openObject({ bookId: BOOK, hash, userIds: [] });
          for await (const _chunk of body) void _chunk;
        }).then(
          () => undefined,
          (e: { code?: string }) => e.code,
        );
        expect(["INTEGRITY_ERROR", "STORAGE_UNAVAILABLE"]).toContain(err);
      } finally {
        await source.close();
      }
    } finally {
      await writeFile(file, good);
    }
    expect((await get(hash)).status).toBe(200);
  });

  it("one query per book at a time: questions asked together share it, and batches hold at most MAX_BATCH hashes", async () => {
    // The store's own journal, with its queries counted (the batcher is keyed by the context it is given).
    const real = store.ctx;
    let queries = 0;
    const db = new Proxy(real.journal.db, {
      get: (t, p) => (p === "selectDistinct" ? (...a: unknown[]) => (queries++, (t.selectDistinct as (...x: unknown[]) => unknown).apply(t, a)) : Reflect.get(t, p, t)),
    });
    const ctx: StoreContext = { ...real, journal: { ...real.journal, db } };

    const sizes = await Promise.all(hashes.map((h) => referencedSize(ctx, BOOK, [], h)));
    expect(queries).toBe(1);
    expect(sizes.filter((s) => s !== null).length).toBe(18); // 20 written, one deleted, one edited
    expect(sizes[0]).toBe(Buffer.byteLength("# Page 1\n\nREFS-1.\n"));

    // While one query runs, the questions that arrive meanwhile wait and then share the next one.
    queries = 0;
    const first = referencedSize(ctx, BOOK, [], hashes[0]!);
    await new Promise((r) => setImmediate(r)); // the first query has started
    const meanwhile = Promise.all(hashes.slice(1).map((h) => referencedSize(ctx, BOOK, [], h)));
    await Promise.all([first, meanwhile]);
    expect(queries).toBe(2);

    // Another book's questions never join this book's query.
    queries = 0;
    const both = await Promise.all([referencedSize(ctx, BOOK, [], otherHash), referencedSize(ctx, OTHER, [], otherHash)]);
    expect(both).toEqual([null, Buffer.byteLength("# Other\n\nOTHER-BOOK.\n")]);
    expect(queries).toBe(2);

    queries = 0;
    const many = Array.from({ length: MAX_BATCH * 2 + 1 }, (_, i) => sha256Hex(`unreferenced ${i}`));
    expect(new Set(await Promise.all(many.map((h) => referencedSize(ctx, BOOK, [], h))))).toEqual(new Set([null]));
    expect(queries).toBe(3);
  });
});
