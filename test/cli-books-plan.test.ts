/** The pure decisions behind pfs import/export: the docs-tree ↔ book mapping and the plans (property tests). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bookToDocsPath, docsToBookPath, isHidden } from "../src/books/layout.js";
import { planExport, planImport, type LocalFile } from "../src/books/plan.js";

const hash = fc.constantFrom("a", "b", "c").map((c) => c.repeat(64));
const segment = fc.stringMatching(/^[0-9]{2}-[a-z]{1,6}$/);
const bookPath = fc.oneof(
  fc.tuple(segment, segment, segment).map(([p, c, l]) => `content/${p}/${c}/${l}.md`),
  fc.tuple(segment, segment, segment).map(([p, c, l]) => `content/${p}/${c}/${l}.summary.md`),
  segment.map((p) => `content/${p}/README.md`),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/).map((n) => `content/${n}.mdx`),
  fc.tuple(fc.constantFrom("img", "images", "slides", "videos", "audio"), fc.stringMatching(/^[a-z][a-z0-9 _-]{0,8}\.[a-z]{3}$/)).map(([f, n]) => `static/${f}/${n.trim() || "x.png"}`),
);

describe("docs tree ↔ book paths", () => {
  it("export then import maps every book path back to itself", () => {
    fc.assert(
      fc.property(bookPath, (p) => {
        const m = docsToBookPath(bookToDocsPath(p));
        expect(m.ok && m.path).toBe(p);
      }),
    );
  });

  it("maps the shapes of a real book folder, and says why for what does not fit", () => {
    expect(docsToBookPath("01-Part/02-Chapter/05_chapter_02_quiz.md")).toMatchObject({ ok: true, path: "content/01-Part/02-Chapter/05_chapter_02_quiz.md", parsed: { kind: "lesson" } });
    expect(docsToBookPath("01-Part/02-Chapter/03-x.summary.md")).toMatchObject({ ok: true, parsed: { kind: "summary" } });
    expect(docsToBookPath("01-Part/02-Chapter/img/fig 1.PNG")).toMatchObject({ ok: true, path: "static/img/01-Part/02-Chapter/img/fig 1.PNG" });
    expect(docsToBookPath("01-Part/talk.mp4")).toMatchObject({ ok: true, path: "static/videos/01-Part/talk.mp4" });
    expect(docsToBookPath("x/y.png", "static")).toMatchObject({ ok: false, code: "SCHEMA_VIOLATION" });
    expect(docsToBookPath("img/y.png", "static")).toMatchObject({ ok: true, path: "static/img/y.png" });
    expect(docsToBookPath("_category_.json")).toMatchObject({ ok: false, code: "SCHEMA_VIOLATION" });
    expect(docsToBookPath("01-Part/02-Chapter/a\u202eb.md")).toMatchObject({ ok: false, code: "INVALID_PATH" });
    expect(isHidden(".git/config")).toBe(true);
    expect(isHidden("01-Part/.DS_Store")).toBe(true);
    expect(isHidden("01-Part/README.md")).toBe(false);
  });
});

const localFiles = fc.uniqueArray(fc.record({ path: bookPath, hash, size: fc.nat(1000) }), { selector: (f) => f.path, maxLength: 20 });
const bookMap = fc.uniqueArray(fc.tuple(bookPath, hash), { selector: (t) => t[0], maxLength: 20 }).map((e) => new Map(e));

describe("planImport", () => {
  it("partitions the folder, updates against the book's hash, and applying it (with prune) makes the book equal the folder", () => {
    fc.assert(
      fc.property(localFiles, bookMap, fc.boolean(), (local: LocalFile[], book, prune) => {
        const plan = planImport(local, book, prune);
        expect(plan.create.length + plan.update.length + plan.unchanged.length).toBe(local.length);
        for (const u of plan.update) expect(u.expectedHash).toBe(book.get(u.path));
        for (const d of plan.delete) expect(d.expectedHash).toBe(book.get(d.path));
        if (!prune) expect(plan.delete).toEqual([]);
        const after = new Map(book);
        for (const f of [...plan.create, ...plan.update]) after.set(f.path, f.hash);
        for (const d of plan.delete) after.delete(d.path);
        const wanted = new Map(local.map((f) => [f.path, f.hash]));
        if (prune) expect(after).toEqual(wanted);
        else for (const [p, h] of wanted) expect(after.get(p)).toBe(h);
        // Idempotent: planning again after applying has nothing to do.
        const again = planImport(local, after, prune);
        expect([again.create, again.update, again.delete]).toEqual([[], [], []]);
      }),
    );
  });
});

describe("planExport", () => {
  it("writes exactly the missing or different files and removes exactly what left the book", () => {
    fc.assert(
      fc.property(localFiles, bookMap, (bookFiles, localMap) => {
        const book = bookFiles.map((f) => ({ ...f, local: bookToDocsPath(f.path) }));
        const local = new Map([...localMap].map(([p, h]) => [bookToDocsPath(p), h]));
        const plan = planExport(book, local);
        expect(plan.write.length + plan.unchanged).toBe(book.length);
        for (const w of plan.write) expect(local.get(w.local)).not.toBe(w.hash);
        const wanted = new Set(book.map((f) => f.local));
        expect(plan.remove).toEqual([...local.keys()].filter((p) => !wanted.has(p)).sort());
      }),
    );
  });
});
