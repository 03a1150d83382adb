/**
 * The pure parts of anchors: comparing a chain with its anchors (properties over random histories),
 * the HMAC and its key rotation, and anchor keys/parsing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { auditEntryHash, type ChainEntry } from "../src/journal/audit-chain.js";
import { sha256Hex } from "../src/hashing/index.js";
import { anchorKey, auditKeyId, checkSignature, compareChainWithAnchors, makeAnchor, manifestAtSeq, parseAnchor, parseAnchorKey, type Anchor } from "../src/store/anchors.js";
import { manifestHash } from "../src/store/manifest.js";

const BOOK = "pure-book";
const KEY = "pure-audit-key-0123456789";

type Step = { path: number; del: boolean; agent: string };

/** A valid chain from steps (writes and deletes of a few paths). */
function chainOf(steps: Step[]): ChainEntry[] {
  const entries: ChainEntry[] = [];
  let prev: string | null = null;
  steps.forEach((s, i) => {
    const fields = {
      bookSeq: i + 1,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      agentId: s.agent,
      operation: s.del ? "delete" : "write",
      bookId: BOOK,
      path: `content/01-part/01-chapter/0${s.path}-x.md`,
      userId: "__base__",
      prevHash: null,
      newHash: s.del ? null : sha256Hex(`v${i}`),
      mode: s.del ? "deleted" : "created",
      status: "ok" as const,
      errorCode: null,
      errorMessage: null,
      durationMs: 1,
    };
    const entryHash = auditEntryHash(prev, fields);
    entries.push({ ...fields, id: i + 1, prevEntryHash: prev, entryHash });
    prev = entryHash;
  });
  return entries;
}

function anchorsOf(entries: ChainEntry[], seqs: number[], key: string | null = null): Anchor[] {
  return [...seqs]
    .sort((a, b) => b - a)
    .map((seq) => makeAnchor({ bookId: BOOK, seq, entryHash: entries[seq - 1]!.entryHash, manifestHash: manifestAtSeq(entries, seq) }, new Date(0), key));
}

const steps = fc.array(fc.record({ path: fc.integer({ min: 1, max: 4 }), del: fc.boolean(), agent: fc.constantFrom("a", "b") }), { minLength: 1, maxLength: 30 });

describe("compareChainWithAnchors", () => {
  it("the genuine chain never diverges from its anchors, whichever seqs were anchored", () => {
    fc.assert(
      fc.property(steps, fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), (s, picks) => {
        const entries = chainOf(s);
        const seqs = [...new Set(picks.map((p) => (p % entries.length) + 1))];
        const head = { seq: entries.length, lastEntryHash: entries.at(-1)!.entryHash };
        expect(compareChainWithAnchors(BOOK, anchorsOf(entries, seqs), entries, head)).toBeNull();
      }),
    );
  });

  it("rewriting entry k and rechaining is reported at the oldest anchor ≥ k whenever an anchor ≥ k exists", () => {
    fc.assert(
      fc.property(steps, fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), fc.nat(), (s, picks, kPick) => {
        const genuine = chainOf(s);
        const seqs = [...new Set(picks.map((p) => (p % genuine.length) + 1))];
        const k = (kPick % genuine.length) + 1;
        const forged = chainOf(s.map((st, i) => (i === k - 1 ? { ...st, agent: "mallory" } : st)));
        const head = { seq: forged.length, lastEntryHash: forged.at(-1)!.entryHash };
        const problem = compareChainWithAnchors(BOOK, anchorsOf(genuine, seqs), forged, head);
        const covering = seqs.filter((q) => q >= k);
        if (covering.length === 0) expect(problem).toBeNull(); // the unanchored tail: what anchors cannot prove
        else expect(problem).toMatchObject({ kind: "rewritten-chain", seq: Math.min(...covering) });
      }),
    );
  });

  it("no head and no entries is a deleted book; a head below the newest anchor is a truncated chain", () => {
    const entries = chainOf([{ path: 1, del: false, agent: "a" }, { path: 2, del: false, agent: "a" }, { path: 1, del: true, agent: "b" }]);
    const anchors = anchorsOf(entries, [1, 3]);
    expect(compareChainWithAnchors(BOOK, anchors, [], null)).toMatchObject({ kind: "deleted-book", seq: 3 });
    expect(compareChainWithAnchors(BOOK, anchors, entries.slice(0, 2), { seq: 2, lastEntryHash: entries[1]!.entryHash })).toMatchObject({
      kind: "truncated-chain",
      seq: 3,
    });
    expect(manifestAtSeq(entries, 3)).toBe(manifestHash([{ path: entries[1]!.path!, hash: entries[1]!.newHash! }]));
    expect(manifestAtSeq([], 0)).toBe(sha256Hex("")); // what the SQL manifest gives an empty book
  });
});

describe("anchor signatures and keys", () => {
  const head = { bookId: BOOK, seq: 7, entryHash: sha256Hex("e"), manifestHash: sha256Hex("m") };

  it("an HMAC verifies with the current or a previous key, not with another, and not after any field changes", () => {
    const a = makeAnchor(head, new Date(0), KEY);
    expect(a.keyId).toBe(auditKeyId(KEY));
    expect(checkSignature(a, [KEY])).toBe("valid");
    expect(checkSignature(a, ["new-key-000000000000", KEY])).toBe("valid");
    expect(checkSignature(a, ["new-key-000000000000"])).toBe("unknown-key");
    for (const change of [{ seq: 8 }, { entryHash: sha256Hex("x") }, { manifestHash: sha256Hex("y") }, { anchoredAt: new Date(1).toISOString() }, { hmac: "zz" }]) {
      expect(checkSignature({ ...a, ...change }, [KEY])).toBe("bad-hmac");
    }
    expect(checkSignature(makeAnchor(head, new Date(0), null), [KEY])).toBe("unsigned");
    expect(auditKeyId(KEY)).not.toContain(KEY.slice(0, 8)); // the fingerprint does not reveal the key
  });

  it("anchor keys sort by seq and parse back; stored bytes must match their key", () => {
    expect(anchorKey(BOOK, 42)).toBe("anchors/pure-book/0000000000000042.json");
    expect(parseAnchorKey(anchorKey(BOOK, 42))).toEqual({ bookId: BOOK, seq: 42 });
    expect(parseAnchorKey("anchors/pure-book/42.json")).toBeNull();
    expect(parseAnchorKey("anchors/../0000000000000042.json")).toBeNull();
    expect(anchorKey(BOOK, 9) < anchorKey(BOOK, 10)).toBe(true);
    const bytes = Buffer.from(JSON.stringify(makeAnchor(head, new Date(0), KEY)));
    expect(parseAnchor(bytes, { bookId: BOOK, seq: 7 })).toMatchObject({ seq: 7 });
    expect(parseAnchor(bytes, { bookId: BOOK, seq: 8 })).toBeNull();
    expect(parseAnchor(Buffer.from("not json"), { bookId: BOOK, seq: 7 })).toBeNull();
  });
});
