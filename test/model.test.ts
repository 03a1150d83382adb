/**
 * Model-based tests (issue 6, DESIGN 5): random command sequences run against the real store and a
 * plain-map model; after every step results and state agree and R1–R3, R5–R7 hold.
 * CI-sized by default; PFS_LONG=1 for the long run (PFS_MODEL_RUNS / PFS_MODEL_STEPS override, PFS_SEED replays).
 */
import { mkdir, writeFile } from "node:fs/promises";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { PfsError, type Store } from "../src/index.js";
import { sha256Hex } from "../src/hashing/index.js";
import { manifestHash } from "../src/store/manifest.js";
import { BACKENDS, openStoreFor } from "./support/backends.js";
import { invariantViolations } from "./support/invariants.js";

const LONG = process.env.PFS_LONG === "1";
const RUNS = Number(process.env.PFS_MODEL_RUNS ?? (LONG ? 150 : 10));
const STEPS = Number(process.env.PFS_MODEL_STEPS ?? (LONG ? 40 : 18));
/** fast-check's length bias for sequences ("small" by default; the long run asks for longer ones). */
const SIZE = (process.env.PFS_MODEL_SIZE ?? (LONG ? "medium" : "small")) as fc.SizeForArbitrary;
const SEED = process.env.PFS_SEED !== undefined ? Number(process.env.PFS_SEED) : undefined;

const PATHS = [
  "content/01-part/01-chapter/01-intro.md",
  "content/01-part/01-chapter/01-intro.summary.md",
  "content/01-part/README.md",
  "content/preface.md",
  "static/img/logo.png",
] as const;
const USERS = [undefined, "alice", "bob"] as const;
const AGENTS = ["agent-ann", "agent-bo"] as const;
/** Few distinct bodies, so equal bytes (dedupe, no-op updates) happen often; the last is not UTF-8. */
const BODIES = [Buffer.from(""), Buffer.from("# one\n"), Buffer.from("# two ✓\n"), Buffer.from([0xff, 0xfe, 0x00, 0x41])];
const BAD_PATHS = ["../escape.md", "content/01-part/../x.md", "docs/intro.md", "content/01-part/loose.md", "/abs.md", "static/img/", "content//a.md"];
const WRONG_HASH = sha256Hex("never written");

type HashMode = "current" | "none" | "wrong";

interface FileState {
  hash: string;
  size: number;
  content: Buffer;
}

interface ExpectedEntry {
  operation: string;
  path: string;
  userId: string;
  agentId: string;
  status: string;
  errorCode: string | null;
  prevHash: string | null;
  newHash: string | null;
  mode: string | null;
}

interface Model {
  files: Map<string, FileState>;
  audit: [ExpectedEntry[], ExpectedEntry[]];
  /** Manifests the store has recorded per book (snapshot and plan record them): hash → base files. */
  manifests: [Map<string, Map<string, string>>, Map<string, Map<string, string>>];
}

interface Real {
  store: Store;
  books: [string, string];
}

/** Input rejected before the transaction is audited only in a book that already has a chain (issue 9: no state from bad input). */
function recordRejection(m: Model, book: 0 | 1, entry: ExpectedEntry): void {
  if (m.audit[book].length > 0) m.audit[book].push(entry);
}

const key = (book: number, path: string, user: string | undefined) => `${book}\u0000${path}\u0000${user ?? "__base__"}`;
const isAsset = (path: string) => path.startsWith("static/");

/** Figures for docs/RELIABILITY.md. */
const figures = { sequences: 0, commands: 0, byKind: {} as Record<string, number>, violations: 0 };

function count(kind: string) {
  figures.commands++;
  figures.byKind[kind] = (figures.byKind[kind] ?? 0) + 1;
}

function baseFiles(m: Model, book: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const path of PATHS) {
    const f = m.files.get(key(book, path, undefined));
    if (f) out.set(path, f.hash);
  }
  return out;
}

function viewOf(m: Model, book: number, user: string | undefined) {
  const out: { path: string; hash: string; size: number; source: "base" | "overlay" }[] = [];
  for (const path of [...PATHS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const overlay = user ? m.files.get(key(book, path, user)) : undefined;
    const base = m.files.get(key(book, path, undefined));
    const f = overlay ?? base;
    if (f) out.push({ path, hash: f.hash, size: f.size, source: overlay ? "overlay" : "base" });
  }
  return out;
}

async function expectError(p: Promise<unknown>): Promise<PfsError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PfsError) return err;
    throw new Error(`expected a PfsError, got ${String(err)}`);
  }
  throw new Error("expected the operation to fail, it succeeded");
}

/** After every step: the journal equals the model, the audit log holds exactly the expected entries, invariants hold. */
async function checkState(m: Model, r: Real): Promise<void> {
  for (const book of [0, 1] as const) {
    const rows = await r.store.list({ bookId: r.books[book] }); // base only
    const want = viewOf(m, book, undefined);
    expect(rows.map((x) => ({ path: x.path, hash: x.hash, size: x.size, source: x.source }))).toEqual(want);
    for (const user of ["alice", "bob"]) {
      const got = await r.store.list({ bookId: r.books[book], userId: user });
      expect(got.map((x) => ({ path: x.path, hash: x.hash, size: x.size, source: x.source }))).toEqual(viewOf(m, book, user));
    }
    const page = await r.store.audit({ bookId: r.books[book], limit: 1000 });
    const got = page.entries
      .slice()
      .reverse()
      .map((e) => ({
        operation: e.operation,
        path: e.path,
        userId: e.userId,
        agentId: e.agentId,
        status: e.status,
        errorCode: e.errorCode,
        prevHash: e.prevHash,
        newHash: e.newHash,
        mode: e.mode,
      }));
    expect(got).toEqual(m.audit[book]);
  }
  const violations = await invariantViolations(r.store, r.books, new Set(AGENTS));
  figures.violations += violations.length;
  expect(violations).toEqual([]);
}

class WriteCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly book: 0 | 1,
    readonly path: string,
    readonly user: string | undefined,
    readonly body: number,
    readonly hashMode: HashMode,
    readonly agent: string,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    count(this.user ? "overlay-write" : "write");
    const k = key(this.book, this.path, this.user);
    const current = m.files.get(k);
    const content = BODIES[this.body]!;
    const expectedHash = this.hashMode === "current" ? current?.hash : this.hashMode === "wrong" ? WRONG_HASH : undefined;
    const call = r.store.write({ bookId: r.books[this.book], path: this.path, content, expectedHash, userId: this.user, agentId: this.agent });
    const entry = { operation: "write", path: this.path, userId: this.user ?? "__base__", agentId: this.agent };
    const hash = sha256Hex(content);
    let code: string | null = null;
    if (this.user && isAsset(this.path)) code = "SCHEMA_VIOLATION";
    else if (!isAsset(this.path) && this.body === 3) code = "INVALID_CONTENT";
    if (code) {
      expect((await expectError(call)).code).toBe(code);
      recordRejection(m, this.book, { ...entry, status: "rejected", errorCode: code, prevHash: null, newHash: null, mode: null });
    } else if (!current && expectedHash !== undefined) {
      expect((await expectError(call)).code).toBe("NOT_FOUND");
      m.audit[this.book].push({ ...entry, status: "rejected", errorCode: "NOT_FOUND", prevHash: null, newHash: null, mode: null });
    } else if (current && expectedHash !== current.hash) {
      const err = await expectError(call);
      const want = expectedHash === undefined ? "HASH_REQUIRED" : "CONFLICT";
      expect([err.code, err.currentHash]).toEqual([want, current.hash]);
      m.audit[this.book].push({ ...entry, status: "conflict", errorCode: want, prevHash: current.hash, newHash: null, mode: null });
    } else {
      const result = await call;
      const mode = current ? "updated" : "created";
      expect(result).toEqual({ mode, hash, previousHash: current?.hash ?? null, size: content.length });
      m.files.set(k, { hash, size: content.length, content });
      const auditMode = current?.hash === hash ? "unchanged" : mode;
      m.audit[this.book].push({ ...entry, status: "ok", errorCode: null, prevHash: current?.hash ?? null, newHash: hash, mode: auditMode });
    }
    await checkState(m, r);
  }
  toString = () => `write(b${this.book}, ${this.path}, user=${this.user ?? "-"}, body#${this.body}, ${this.hashMode}, ${this.agent})`;
}

class DeleteCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly book: 0 | 1,
    readonly path: string,
    readonly user: string | undefined,
    readonly hashMode: HashMode,
    readonly twice: boolean,
    readonly agent: string,
  ) {}
  check = () => true;
  async once(m: Model, r: Real): Promise<void> {
    count(this.user ? "overlay-delete" : "delete");
    const k = key(this.book, this.path, this.user);
    const current = m.files.get(k);
    const expectedHash = this.hashMode === "current" ? current?.hash : this.hashMode === "wrong" ? WRONG_HASH : undefined;
    const call = r.store.delete({ bookId: r.books[this.book], path: this.path, userId: this.user, expectedHash, agentId: this.agent });
    const entry = { operation: "delete", path: this.path, userId: this.user ?? "__base__", agentId: this.agent };
    if (this.user && isAsset(this.path)) {
      expect((await expectError(call)).code).toBe("SCHEMA_VIOLATION");
      recordRejection(m, this.book, { ...entry, status: "rejected", errorCode: "SCHEMA_VIOLATION", prevHash: null, newHash: null, mode: null });
    } else if (!current) {
      expect(await call).toEqual({ existed: false });
      m.audit[this.book].push({ ...entry, status: "ok", errorCode: null, prevHash: null, newHash: null, mode: "absent" });
    } else if (expectedHash !== undefined && expectedHash !== current.hash) {
      const err = await expectError(call);
      expect([err.code, err.currentHash]).toEqual(["CONFLICT", current.hash]);
      m.audit[this.book].push({ ...entry, status: "conflict", errorCode: "CONFLICT", prevHash: current.hash, newHash: null, mode: null });
    } else {
      expect(await call).toEqual({ existed: true });
      m.files.delete(k);
      m.audit[this.book].push({ ...entry, status: "ok", errorCode: null, prevHash: current.hash, newHash: null, mode: "deleted" });
    }
    await checkState(m, r);
  }
  async run(m: Model, r: Real): Promise<void> {
    await this.once(m, r);
    if (this.twice) await this.once(m, r); // R3: the second delete finds nothing and changes nothing
  }
  toString = () => `delete(b${this.book}, ${this.path}, user=${this.user ?? "-"}, ${this.hashMode}${this.twice ? ", twice" : ""}, ${this.agent})`;
}

class ReadCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly book: 0 | 1,
    readonly path: string,
    readonly user: string | undefined,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    count("read");
    const overlay = this.user ? m.files.get(key(this.book, this.path, this.user)) : undefined;
    const f = overlay ?? m.files.get(key(this.book, this.path, undefined));
    const call = r.store.read({ bookId: r.books[this.book], path: this.path, userId: this.user });
    if (this.user && isAsset(this.path)) {
      expect((await expectError(call)).code).toBe("SCHEMA_VIOLATION");
    } else if (!f) {
      expect((await expectError(call)).code).toBe("NOT_FOUND");
    } else {
      const got = await call; // R5: overlay when present, else base
      expect({ hash: got.hash, size: got.size, source: got.source, content: got.content.toString("hex") }).toEqual({
        hash: f.hash,
        size: f.size,
        source: overlay ? "overlay" : "base",
        content: f.content.toString("hex"),
      });
    }
  }
  toString = () => `read(b${this.book}, ${this.path}, user=${this.user ?? "-"})`;
}

class SnapshotCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly book: 0 | 1,
    readonly user: string | undefined,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    count("snapshot");
    const snap = await r.store.snapshot({ bookId: r.books[this.book], userId: this.user });
    const base = baseFiles(m, this.book);
    const want = manifestHash([...base].map(([path, hash]) => ({ path, hash })));
    expect(snap.manifestHash).toBe(want);
    expect(snap.files).toEqual(viewOf(m, this.book, this.user));
    expect(snap.seq).toBe(m.audit[this.book].length);
    m.manifests[this.book].set(want, base);
  }
  toString = () => `snapshot(b${this.book}, user=${this.user ?? "-"})`;
}

/** planBuild, when the store has it (another slice adds it): result applied to the target gives the current base. */
type PlanFn = (input: { bookId: string; targetManifestHash?: string }) => Promise<{
  status: string;
  manifestHash: string;
  files: { path: string; currentHash: string | null; targetHash: string | null; change: string }[];
  warning?: string;
}>;

function planOf(store: Store): PlanFn | undefined {
  const fn = (store as unknown as { planBuild?: PlanFn }).planBuild;
  return typeof fn === "function" ? fn.bind(store) : undefined;
}

class PlanCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly book: 0 | 1,
    /** 0: no target, 1: unknown target, n ≥ 2: the (n-2)-th manifest the model knows (mod count). */
    readonly target: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const plan = planOf(r.store);
    if (!plan) return;
    count("plan");
    const known = [...m.manifests[this.book].keys()];
    const targetHash = this.target === 0 ? undefined : this.target === 1 || known.length === 0 ? sha256Hex(`unknown ${this.target}`) : known[(this.target - 2) % known.length]!;
    const result = await plan({ bookId: r.books[this.book], targetManifestHash: targetHash });
    const base = baseFiles(m, this.book);
    const current = manifestHash([...base].map(([path, hash]) => ({ path, hash })));
    expect(result.manifestHash).toBe(current);
    const target = targetHash !== undefined ? m.manifests[this.book].get(targetHash) : undefined;
    const wantFiles = target
      ? [...new Set([...target.keys(), ...base.keys()])]
          .filter((p) => target.get(p) !== base.get(p))
          .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
          .map((path) => {
            const currentHash = base.get(path) ?? null;
            const t = target.get(path) ?? null;
            return { path, currentHash, targetHash: t, change: t === null ? "added" : currentHash === null ? "deleted" : "modified" };
          })
      : targetHash === current
        ? []
        : [...base].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map(([path, hash]) => ({ path, currentHash: hash, targetHash: null, change: "added" }));
    expect(result.files).toEqual(wantFiles);
    expect(result.status).toBe(targetHash === current ? "unchanged" : "changed");
    expect(result.warning !== undefined).toBe(targetHash !== undefined && !target && targetHash !== current);
    m.manifests[this.book].set(current, base);
  }
  toString = () => `plan(b${this.book}, target=${this.target})`;
}

class BadPathCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly book: 0 | 1,
    readonly path: string,
    readonly op: "write" | "delete",
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    count("invalid-path");
    const input = { bookId: r.books[this.book], path: this.path, agentId: AGENTS[0] };
    const err = await expectError(this.op === "write" ? r.store.write({ ...input, content: "x" }) : r.store.delete(input));
    expect(["INVALID_PATH", "SCHEMA_VIOLATION"]).toContain(err.code); // R1
    recordRejection(m, this.book, { operation: this.op, path: this.path, userId: "__base__", agentId: AGENTS[0], status: "rejected", errorCode: err.code, prevHash: null, newHash: null, mode: null });
    await checkState(m, r);
  }
  toString = () => `${this.op}-invalid(b${this.book}, ${JSON.stringify(this.path)})`;
}

const book = fc.constantFrom<0 | 1>(0, 1);
const path = fc.constantFrom(...PATHS);
const user = fc.constantFrom(...USERS);
const agent = fc.constantFrom(...AGENTS);
const hashMode = fc.constantFrom<HashMode>("current", "current", "none", "wrong");

const commands = fc.commands(
  [
    fc.tuple(book, path, user, fc.nat(BODIES.length - 1), hashMode, agent).map((a) => new WriteCmd(...a)),
    fc.tuple(book, path, user, fc.nat(BODIES.length - 1), hashMode, agent).map((a) => new WriteCmd(...a)),
    fc.tuple(book, path, user, hashMode, fc.boolean(), agent).map((a) => new DeleteCmd(...a)),
    fc.tuple(book, path, user).map((a) => new ReadCmd(...a)),
    fc.tuple(book, user).map((a) => new SnapshotCmd(...a)),
    fc.tuple(book, fc.nat(6)).map((a) => new PlanCmd(...a)),
    fc.tuple(book, fc.constantFrom(...BAD_PATHS), fc.constantFrom<"write" | "delete">("write", "delete")).map((a) => new BadPathCmd(...a)),
  ],
  { maxCommands: STEPS, size: SIZE },
);

describe.each(BACKENDS)("model-based: store ≡ model on $name", (backend) => {
  let store: Store;
  let run = 0;

  openStoreFor(backend, (s) => (store = s));

  it(
    `random sequences of write/delete/overlay/read/snapshot/plan agree with the model (${RUNS} runs × ≤${STEPS} steps)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(commands, async (cmds) => {
          run++;
          figures.sequences++;
          // Fresh books per sequence: the model starts empty; objects are shared (content addressing).
          const real: Real = { store, books: [`m${run}-one`, `m${run}-two`] };
          const model: Model = { files: new Map(), audit: [[], []], manifests: [new Map(), new Map()] };
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          // Store-wide verify agrees: no missing or corrupt objects, no chain problems.
          const report = await store.verify({ bookId: real.books[0] });
          expect([report.objectProblems, report.chainProblems, report.journalAuditProblems]).toEqual([[], [], []]);
        }),
        { numRuns: RUNS, seed: SEED, verbose: 1, endOnFailure: false },
      );
    },
    LONG ? 3_600_000 : 120_000,
  );
});

afterAll(async () => {
  if (!LONG) return;
  await mkdir("test-artifacts", { recursive: true });
  const out = { when: new Date().toISOString(), backends: BACKENDS.map((b) => b.name), runsPerBackend: RUNS, maxSteps: STEPS, size: SIZE, ...figures };
  await writeFile(`test-artifacts/model-long-run-${process.pid}.json`, JSON.stringify(out, null, 2));
  console.log("model long run:", JSON.stringify(out));
});
