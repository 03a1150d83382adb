import { randomBytes } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, inject } from "vitest";
import { openStore, type S3StorageConfig, type Store, type StoreOptions } from "../../src/index.js";
import { createTestDatabase } from "./postgres.js";
import { createBucket, S3RVER_ACCESS_KEY, S3RVER_SECRET } from "./s3rver.js";

export type DbKind = "pglite" | "postgres";
export type StorageKind = "local" | "s3";

export interface Backend {
  name: string;
  db: DbKind;
  storage: StorageKind;
}

export interface BackendInstance {
  options: StoreOptions;
  /** The temp folder holding the embedded journal and local objects. */
  dir: string;
  /** postgres:// URL when db is postgres. */
  databaseUrl?: string;
  cleanup(): Promise<void>;
}

export const DBS: DbKind[] = ["pglite", "postgres"];
export const STORAGES: StorageKind[] = ["local", "s3"];

/** Every {database} × {storage} combination the store suite runs on. */
export const BACKENDS: Backend[] = DBS.flatMap((db) => STORAGES.map((storage) => ({ name: `${db}+${storage}`, db, storage })));

/** A PGlite data folder copied from the migrated template of this run. */
export async function pgliteDirFromTemplate(dataDir: string): Promise<void> {
  await cp(inject("pgliteTemplate"), join(dataDir, "journal"), { recursive: true });
}

export async function makeBackend(backend: Backend, extra: Partial<StoreOptions> = {}): Promise<BackendInstance> {
  const dir = await mkdtemp(join(tmpdir(), `pfs-${backend.name}-`));
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const options: StoreOptions = { dataDir: dir, storage: { kind: "local", dir: join(dir, "objects") }, ...extra };
  let databaseUrl: string | undefined;
  if (backend.db === "postgres") {
    const db = await createTestDatabase();
    databaseUrl = db.url;
    options.databaseUrl = db.url;
    cleanups.push(db.drop);
  } else {
    await pgliteDirFromTemplate(dir);
  }
  if (backend.storage === "s3" && !extra.storage) {
    options.storage = await makeS3Bucket();
    const bucketDir = join(inject("s3Directory"), options.storage.bucket);
    cleanups.push(() => rm(bucketDir, { recursive: true, force: true }));
  }
  return {
    options,
    dir,
    databaseUrl,
    cleanup: async () => {
      for (const fn of cleanups.reverse()) await fn().catch(() => {});
    },
  };
}

/** A fresh bucket on this run's s3rver, as openStore storage options. */
export async function makeS3Bucket(): Promise<S3StorageConfig & { endpoint: string }> {
  const endpoint = inject("s3Endpoint");
  const bucket = `pfs-${randomBytes(6).toString("hex")}`;
  await createBucket(endpoint, bucket);
  return { kind: "s3", bucket, endpoint, forcePathStyle: true, accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET };
}

/** Opens a store on a fresh backend before the enclosing describe block's tests and closes it after them. */
export function openStoreFor(backend: Backend, use: (store: Store, instance: BackendInstance) => void, extra: Partial<StoreOptions> = {}): void {
  let instance: BackendInstance | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    instance = await makeBackend(backend, extra);
    store = await openStore(instance.options);
    use(store, instance);
  });
  afterAll(async () => {
    await store?.close();
    await instance?.cleanup();
  });
}
