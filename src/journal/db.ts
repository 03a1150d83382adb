import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
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

export function journalError(err: unknown, where: string): PfsError {
  if (err instanceof PfsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PfsError("JOURNAL_UNAVAILABLE", `The journal (${where}) failed: ${message}`, {}, { cause: err });
}

export async function openJournal(opts: JournalOptions): Promise<Journal> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10) : openPglite(opts.pgliteDir ?? ".panaversity/journal", opts.lock);
}

async function openPostgres(url: string, poolSize: number): Promise<Journal> {
  const description = `PostgreSQL ${redactUrl(url)}`;
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
  pool.on("error", () => {}); // an idle client dropped by the server must not crash the process
  // A checked-out client has no listener of its own: without this, a connection dropped inside a
  // transaction emits an unhandled "error" and kills the process. The query in flight still rejects.
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    const client = await pool.connect();
    try {
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
      try {
        await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
      }
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

async function openPglite(dir: string, lock: LockOptions = {}): Promise<Journal> {
  const description = `embedded PGlite at ${dir}`;
  await mkdir(dir, { recursive: true, mode: 0o700 }); // data and journal folders: private (overlays)
  const fresh = !existsSync(join(dir, "PG_VERSION")); // initdb ahead: waiters give us longer
  const release = await acquireLockFile(join(dir, "..", `${dir.split(/[\\/]/).pop()}.lock`), { ...lock, initializing: fresh });
  let client: PGlite | undefined;
  try {
    client = await PGlite.create(dir);
    const db = drizzlePglite(client, { schema });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
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
