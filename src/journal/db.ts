import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { readFileSync } from "node:fs";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { PfsError } from "../errors/index.js";
import { schema } from "./schema.js";
import { acquireLockFile, type LockOptions } from "./lock-file.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgDatabase<PgQueryResultHKT, typeof schema, any>;
/** A database or a transaction inside it: every query function takes either. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0] | Db;

export interface Journal {
  readonly kind: "postgres" | "pglite";
  readonly db: Db;
  /** Where it lives, without credentials. */
  readonly description: string;
  close(): Promise<void>;
}

export interface JournalOptions {
  databaseUrl?: string;
  /** Folder of the embedded journal (PGlite), used when databaseUrl is absent. */
  pgliteDir?: string;
  poolSize?: number;
  /** Embedded journal only: how long to wait for another process's lock, and who to tell once. */
  lock?: LockOptions;
  /**
   * Longest a single query may run before the database cancels it (default PFS_STATEMENT_TIMEOUT_MS,
   * else 5 s; 0 turns it off). Migrations run without it. PGlite runs queries in-process and cannot
   * cancel one, so for the embedded journal the bounds on caller input are what keep queries short.
   */
  statementTimeoutMs?: number;
  /**
   * Open without migrating (a role with SELECT grants is enough): the schema must already be this
   * version's, else JOURNAL_UNAVAILABLE says to run a writer (any `pfs` command) once.
   */
  readOnly?: boolean;
}

export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;
/** PostgreSQL's SQLSTATE for "canceling statement due to statement timeout". */
const QUERY_CANCELED = "57014";

export function statementTimeoutMs(given: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const raw = given ?? (env.PFS_STATEMENT_TIMEOUT_MS ? Number(env.PFS_STATEMENT_TIMEOUT_MS) : DEFAULT_STATEMENT_TIMEOUT_MS);
  if (!Number.isInteger(raw) || raw < 0 || raw > 2_147_483_647) {
    throw new PfsError("INVALID_ARGUMENT", `The statement timeout (PFS_STATEMENT_TIMEOUT_MS) must be a whole number of milliseconds ≥ 0; got ${JSON.stringify(given ?? env.PFS_STATEMENT_TIMEOUT_MS)}.`);
  }
  return raw;
}

/** drizzle-kit writes migrations to the top-level folder; src/ and dist/ are at the same depth. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../migrations", import.meta.url));
/** Every process migrating one database takes this lock first, so two opens never race. */
const MIGRATION_LOCK_KEY = 7_320_451_118;

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://(unparseable url)";
  }
}

/** The SQLSTATE of a driver error, also when drizzle wraps it (its `cause`). */
export function sqlState(err: unknown): unknown {
  for (let e = err as { code?: unknown; cause?: unknown } | null, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string") return e.code;
  }
  return undefined;
}

export function journalError(err: unknown, where: string): PfsError {
  if (err instanceof PfsError) return err;
  if (sqlState(err) === QUERY_CANCELED) {
    return new PfsError(
      "JOURNAL_UNAVAILABLE",
      "The journal query took too long and was cancelled (statement timeout); narrow it (a book, a time range, a simpler path glob) and retry.",
      { reason: "statement-timeout" },
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new PfsError("JOURNAL_UNAVAILABLE", `The journal (${where}) failed: ${message}`, {}, { cause: err });
}

export async function openJournal(opts: JournalOptions): Promise<Journal> {
  const timeout = statementTimeoutMs(opts.statementTimeoutMs);
  const readOnly = opts.readOnly === true;
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10, timeout, readOnly) : openPglite(opts.pgliteDir ?? ".panaversity/journal", opts.lock, timeout, readOnly);
}

/** The `when` of the newest migration this version ships (drizzle records it as created_at). */
function latestMigration(): number {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as { entries: { when: number }[] };
  return Math.max(...journal.entries.map((e) => e.when));
}

/** Read-only opens do not migrate: they check that a writer already did. */
async function assertSchemaCurrent(query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>, where: string): Promise<void> {
  let applied = 0;
  try {
    const { rows } = await query("SELECT max(created_at) AS at FROM drizzle.__drizzle_migrations");
    applied = Number(rows[0]?.at ?? 0);
  } catch (err) {
    throw new PfsError("JOURNAL_UNAVAILABLE", `The journal (${where}) has no schema this read-only open can use (${(err as Error).message}); open it once with a writer (any pfs command) or grant SELECT on drizzle.__drizzle_migrations.`, {}, { cause: err });
  }
  if (applied < latestMigration()) {
    throw new PfsError("JOURNAL_UNAVAILABLE", `The journal (${where}) has an older schema than this version of panaversity-fs and a read-only open does not migrate; run a writer (any pfs command) once.`, { schemaBehind: true });
  }
}

async function openPostgres(url: string, poolSize: number, timeoutMs: number, readOnly: boolean): Promise<Journal> {
  const description = `PostgreSQL ${redactUrl(url)}`;
  // statement_timeout is a startup parameter: every pooled connection has it from its first query.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000, statement_timeout: timeoutMs });
  pool.on("error", () => {}); // an idle client dropped by the server must not crash the process
  // A checked-out client has no listener of its own: without this, a connection dropped inside a
  // transaction emits an unhandled "error" and kills the process. The query in flight still rejects.
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    const client = await pool.connect();
    try {
      if (readOnly) await assertSchemaCurrent((q) => client.query(q), description);
      else await migrateLocked(client);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => {});
    throw journalError(err, description);
  }
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  return { kind: "postgres", db, description, close: () => pool.end() };
}

async function migrateLocked(client: pg.PoolClient): Promise<void> {
  // Waiting for another opener's migration, or migrating a large table, may take longer than a query may.
  await client.query("SET statement_timeout = 0");
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    await client.query("RESET statement_timeout");
  }
}

async function openPglite(dir: string, lock: LockOptions = {}, timeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS, readOnly = false): Promise<Journal> {
  const description = `embedded PGlite at ${dir}`;
  await mkdir(dir, { recursive: true, mode: 0o700 }); // data and journal folders: private (overlays)
  const fresh = !existsSync(join(dir, "PG_VERSION")); // initdb ahead: waiters give us longer
  const release = await acquireLockFile(join(dir, "..", `${dir.split(/[\\/]/).pop()}.lock`), { ...lock, initializing: fresh });
  let client: PGlite | undefined;
  try {
    client = await PGlite.create(dir);
    const db = drizzlePglite(client, { schema });
    if (readOnly) await assertSchemaCurrent((q) => client!.query<Record<string, unknown>>(q), description);
    else await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    // Set for parity (and for PGlite builds that can cancel); the current one runs each query to its end.
    await client.query(`SET statement_timeout = ${timeoutMs}`);
    const opened = client;
    return {
      kind: "pglite",
      db: db as unknown as Db,
      description,
      close: async () => {
        try {
          await opened.close();
        } finally {
          await release();
        }
      },
    };
  } catch (err) {
    await client?.close().catch(() => {});
    await release();
    throw journalError(err, description);
  }
}
