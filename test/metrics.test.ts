import { describe, expect, it } from "vitest";
import { sha256Hex, type Store } from "../src/index.js";
import { objectKey } from "../src/blobs/keys.js";
import { BACKENDS, openStoreFor } from "./support/backends.js";
import { collectStream } from "./support/zip.js";
import { sample } from "./support/prometheus.js";

const AGENT = "metrics-tester";
const L1 = "content/01-part/01-chapter/01-one.md";
const L2 = "content/01-part/01-chapter/02-two.md";
const IMG = "static/img/a.png";

describe.each(BACKENDS)("metrics on $name are updated by the operations", (backend) => {
  let store: Store;

  openStoreFor(backend, (s) => (store = s));

  it("counts writes, their outcomes and the journal entries per book", async () => {
    const bookId = "metrics-writes";
    const before = await store.metrics();
    expect(sample(before, "panaversityfs_journal_entries_total", { book_id: bookId })).toBeUndefined();
    const one = await store.write({ bookId, path: L1, content: "one", agentId: AGENT });
    await store.write({ bookId, path: L2, content: "two", agentId: AGENT });
    await store.write({ bookId, path: L1, content: "one v2", expectedHash: one.hash, agentId: AGENT });
    await expect(store.write({ bookId, path: L2, content: "again", agentId: AGENT })).rejects.toMatchObject({ code: "HASH_REQUIRED" });
    await store.delete({ bookId, path: L2, agentId: AGENT });

    const text = await store.metrics();
    expect(sample(text, "panaversityfs_write_total", { status: "ok", mode: "created" })).toBe(2);
    expect(sample(text, "panaversityfs_write_total", { status: "ok", mode: "updated" })).toBe(1);
    expect(sample(text, "panaversityfs_write_total", { status: "ok", mode: "deleted" })).toBe(1);
    expect(sample(text, "panaversityfs_write_total", { status: "conflict", mode: "none" })).toBe(1);
    expect(sample(text, "panaversityfs_write_duration_seconds_count", { operation: "write" })).toBe(4);
    expect(sample(text, "panaversityfs_write_duration_seconds_count", { operation: "delete" })).toBe(1);
    const audited = (await store.audit({ bookId, limit: 100 })).entries.length;
    expect(audited).toBe(5);
    expect(sample(text, "panaversityfs_journal_entries_total", { book_id: bookId })).toBe(audited);
  });

  it("counts archives by scope and outcome, with duration and memory", async () => {
    const bookId = "metrics-archives";
    await store.write({ bookId, path: L1, content: "one", agentId: AGENT });
    await store.write({ bookId, path: L2, content: "two", agentId: AGENT });
    await store.write({ bookId, path: IMG, content: Buffer.from([1, 2, 3]), agentId: AGENT });

    // An archive is counted when it ends: its `summary` settles then (reading the stream to its end may come first).
    const archive = async (input: Parameters<typeof store.archive>[0]) => {
      const stream = store.archive(input);
      await collectStream(stream);
      await stream.summary;
    };
    await archive({ bookId, scope: "content" });
    await archive({ bookId, scope: "content" });
    await archive({ bookId, scope: "all", deadlineMs: 0 });
    await store.ctx.blobs.storage.putBuffer(objectKey(sha256Hex("two")), Buffer.from("rot"));
    await archive({ bookId, scope: "all" });

    const text = await store.metrics();
    expect(sample(text, "panaversityfs_archive_total", { scope: "content", status: "ok" })).toBe(2);
    expect(sample(text, "panaversityfs_archive_total", { scope: "all", status: "deadline" })).toBe(1);
    expect(sample(text, "panaversityfs_archive_total", { scope: "all", status: "errors" })).toBe(1);
    expect(sample(text, "panaversityfs_archive_duration_seconds_count", { scope: "content" })).toBe(2);
    expect(sample(text, "panaversityfs_archive_duration_seconds_count", { scope: "all" })).toBe(2);
    const memory = sample(text, "panaversityfs_archive_memory_bytes");
    expect(memory).toBeGreaterThanOrEqual(0);
  });

  it("sets the delta gauge from the last plan", async () => {
    const bookId = "metrics-plan";
    await store.write({ bookId, path: L1, content: "one", agentId: AGENT });
    await store.write({ bookId, path: L2, content: "two", agentId: AGENT });
    const first = await store.planBuild({ bookId });
    expect(sample(await store.metrics(), "panaversityfs_delta_files_count")).toBe(2);
    await store.delete({ bookId, path: L1, agentId: AGENT });
    await store.planBuild({ bookId, targetManifestHash: first.manifestHash });
    expect(sample(await store.metrics(), "panaversityfs_delta_files_count")).toBe(1);
    await store.planBuild({ bookId, targetManifestHash: (await store.snapshot({ bookId })).manifestHash });
    expect(sample(await store.metrics(), "panaversityfs_delta_files_count")).toBe(0);
  });
});
