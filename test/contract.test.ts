import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decideDelete, decideWrite } from "../src/store/contract.js";
import { manifestHash, compareBytes } from "../src/store/manifest.js";
import { sha256Hex } from "../src/hashing/index.js";

const h = (s: string) => sha256Hex(s);

describe("write contract (pure)", () => {
  it.each([
    { current: null, expected: undefined, result: { ok: true, mode: "created", noop: false } },
    { current: h("a"), expected: h("a"), next: h("b"), result: { ok: true, mode: "updated", noop: false } },
    { current: h("a"), expected: h("a"), next: h("a"), result: { ok: true, mode: "updated", noop: true } },
  ])("accepts %#", ({ current, expected, next, result }) => {
    expect(decideWrite("p", current, expected, next ?? h("n"))).toMatchObject(result);
  });

  it.each([
    { current: h("a"), expected: undefined, code: "HASH_REQUIRED" },
    { current: h("a"), expected: h("z"), code: "CONFLICT" },
    { current: null, expected: h("z"), code: "NOT_FOUND" },
  ])("refuses with $code", ({ current, expected, code }) => {
    const d = decideWrite("p", current, expected, h("n"));
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.error.code).toBe(code);
      expect(d.error.currentHash).toBe(current);
    }
  });

  it("succeeds exactly when the caller knows the current state", () => {
    const hash = fc.option(fc.constantFrom(h("a"), h("b"), h("c")), { nil: null });
    fc.assert(
      fc.property(hash, hash, (current, expected) => {
        const d = decideWrite("p", current, expected ?? undefined, h("n"));
        expect(d.ok).toBe((current ?? null) === (expected ?? null));
      }),
    );
  });

  it("delete is idempotent and checks the hash only when the file exists", () => {
    expect(decideDelete("p", null, undefined)).toEqual({ ok: true, existed: false, previousHash: null });
    expect(decideDelete("p", null, h("x"))).toEqual({ ok: true, existed: false, previousHash: null });
    expect(decideDelete("p", h("a"), undefined)).toEqual({ ok: true, existed: true, previousHash: h("a") });
    const d = decideDelete("p", h("a"), h("b"));
    expect(d.ok === false && d.error.code).toBe("CONFLICT");
  });
});

describe("manifest hash (pure)", () => {
  it("matches a hand-computed value", () => {
    const files = [
      { path: "static/img/b.png", hash: h("img") },
      { path: "content/a.md", hash: h("a") },
    ];
    const expected = sha256Hex(`content/a.md:${h("a")}\nstatic/img/b.png:${h("img")}`);
    expect(manifestHash(files)).toBe(expected);
    expect(manifestHash([])).toBe(sha256Hex(""));
  });

  it("sorts by bytes, not by locale (uppercase before lowercase, é after z)", () => {
    expect(["content/é.md", "content/z.md", "content/Z.md"].sort(compareBytes)).toEqual(["content/Z.md", "content/z.md", "content/é.md"]);
  });

  it("does not depend on input order", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { maxLength: 8 }), fc.integer(), (paths, seed) => {
        const files = paths.map((p) => ({ path: p, hash: h(p) }));
        const shuffled = [...files].sort(() => (seed++ % 3) - 1);
        expect(manifestHash(shuffled)).toBe(manifestHash(files));
      }),
    );
  });
});
