import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { openStore, type Store } from "../src/index.js";
import { BACKENDS, makeBackend, type BackendInstance } from "./support/backends.js";
import { captureState } from "./support/state.js";
import { generatedStream } from "./support/generated-stream.js";

// The 1 GB figure with peak RSS is bench/large-asset.ts; this keeps the suite quick.
const SIZE = 96 * 1024 * 1024 + 4321;

describe("a large asset streamed through S3 (write + readStream)", () => {
  let instance: BackendInstance;
  let store: Store;
  beforeAll(async () => {
    instance = await makeBackend({ name: "pglite+s3", db: "pglite", storage: "s3" });
    store = await openStore(instance.options);
  });
  afterAll(async () => {
    await store?.close();
    await instance?.cleanup();
  });

  it("round-trips byte for byte: the stored hash, the read hash and the source hash agree", async () => {
    const source = generatedStream(SIZE);
    const written = await store.write({ bookId: "big-book", path: "static/videos/lecture.bin", content: source.stream, agentId: "bench" });
    expect(written).toMatchObject({ mode: "created", size: SIZE, hash: source.sha256() });

    const { stream, hash, size } = await store.readStream({ bookId: "big-book", path: "static/videos/lecture.bin" });
    const read = createHash("sha256");
    let bytes = 0;
    for await (const chunk of stream) {
      read.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    expect(bytes).toBe(SIZE);
    expect(size).toBe(SIZE);
    expect(read.digest("hex")).toBe(hash);
    expect(hash).toBe(source.sha256());
    // The temporary upload was moved to its content address: nothing is left under tmp/.
    const leftovers: string[] = [];
    for await (const o of store.ctx.blobs.storage.list("tmp/")) leftovers.push(o.key);
    expect(leftovers).toEqual([]);
  });
});

describe.each(BACKENDS)("a streamed asset over the size limit on $name", (backend) => {
  it("is rejected with INVALID_CONTENT (not an unhandled stream error) and stores nothing", async () => {
    const instance = await makeBackend(backend, { limits: { assetBytes: 3 * 1024 * 1024 } });
    const store = await openStore(instance.options);
    try {
      const before = await captureState(store);
      const source = generatedStream(12 * 1024 * 1024);
      const err = await store.write({ bookId: "limits", path: "static/videos/too-big.bin", content: source.stream, agentId: "bench" }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "INVALID_CONTENT" });
      expect(await captureState(store)).toEqual(before);
      const leftovers: string[] = [];
      for await (const o of store.ctx.blobs.storage.list("tmp/")) leftovers.push(o.key);
      expect(leftovers).toEqual([]);
    } finally {
      await store.close();
      await instance.cleanup();
    }
  });
});
