/** Resolves openStore options from arguments, then the environment, then embedded defaults. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { PfsError } from "../errors/index.js";
import type { S3StorageConfig, StorageConfig } from "../blobs/types.js";

export type { LocalStorageConfig, S3StorageConfig, StorageConfig } from "../blobs/types.js";


export interface SizeLimits {
  /** Largest markdown page in bytes (default 5 MB). */
  markdownBytes: number;
  /** Largest asset in bytes (default 500 MB). */
  assetBytes: number;
}

export interface StoreOptions {
  databaseUrl?: string;
  dataDir?: string;
  storage?: StorageConfig;
  limits?: Partial<SizeLimits>;
  /** Keep a path-keyed public copy of base assets (and content if "all") at books/<book>/… */
  mirror?: false | "assets" | "all";
  poolSize?: number;
  /** Refuse to create a new store: the embedded journal folder must already exist (read-side tools). */
  mustExist?: boolean;
}

export interface ResolvedStoreConfig {
  databaseUrl?: string;
  dataDir: string;
  pgliteDir: string;
  storage: StorageConfig;
  limits: SizeLimits;
  mirror: false | "assets" | "all";
  poolSize: number;
}

export const DEFAULT_LIMITS: SizeLimits = { markdownBytes: 5 * 1024 * 1024, assetBytes: 500 * 1024 * 1024 };

type Env = Record<string, string | undefined>;

export function s3ConfigFromEnv(env: Env): S3StorageConfig | undefined {
  const bucket = env.PFS_S3_BUCKET;
  if (!bucket) return undefined;
  const forcePathStyle = env.PFS_S3_FORCE_PATH_STYLE;
  return {
    kind: "s3",
    bucket,
    endpoint: env.PFS_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
    region: env.PFS_S3_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    prefix: env.PFS_S3_PREFIX,
    accessKeyId: env.PFS_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.PFS_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
    forcePathStyle: forcePathStyle === undefined ? undefined : forcePathStyle === "true" || forcePathStyle === "1",
  };
}

export function resolveStoreConfig(opts: StoreOptions = {}, env: Env = process.env): ResolvedStoreConfig {
  const dataDir = resolve(opts.dataDir ?? env.PFS_DATA_DIR ?? ".panaversity");
  const storage = opts.storage ?? s3ConfigFromEnv(env) ?? { kind: "local", dir: join(dataDir, "objects") };
  if (storage.kind === "s3" && !storage.bucket) {
    throw new PfsError("INVALID_ARGUMENT", "S3 storage needs a bucket (storage.bucket or PFS_S3_BUCKET).");
  }
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) throw new PfsError("INVALID_ARGUMENT", `limits.${name} must be a positive number of bytes.`);
  }
  return {
    databaseUrl: opts.databaseUrl ?? (env.DATABASE_URL || undefined),
    dataDir,
    pgliteDir: join(dataDir, "journal"),
    storage: storage.kind === "local" ? { kind: "local", dir: resolve(storage.dir) } : storage,
    limits,
    mirror: opts.mirror ?? false,
    poolSize: opts.poolSize ?? 10,
  };
}

/**
 * With `mustExist`, a missing embedded journal is an error rather than a new empty store, so a
 * mistyped --data-dir never silently starts a second store. PostgreSQL journals exist or fail to connect.
 */
export function assertStoreExists(config: ResolvedStoreConfig, mustExist: boolean | undefined): void {
  if (!mustExist || config.databaseUrl || existsSync(config.pgliteDir)) return;
  throw new PfsError(
    "NOT_FOUND",
    `No store in ${config.dataDir} (its journal folder is missing). Check --data-dir / $PFS_DATA_DIR, or create a store with \`pfs import\` or \`pfs write\`.`,
    { missingStore: true },
  );
}
