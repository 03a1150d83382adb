/** Resolves openStore options from arguments, then the environment, then embedded defaults. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { PfsError } from "../errors/index.js";
import type { StorageConfig } from "../blobs/types.js";
import { assertStorageConfig, s3ConfigFromEnv } from "../blobs/storage-config.js";
import { DEFAULT_LOCK_WAIT_MS, type LockHolder } from "../journal/lock-file.js";
import { parseComponentList } from "../books/safe-html.js";

export type { LocalStorageConfig, S3StorageConfig, StorageConfig } from "../blobs/types.js";
export { s3ConfigFromEnv } from "../blobs/storage-config.js";


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
  /** Embedded journal: how long to wait while another process holds it (default 15 000 ms). */
  lockWaitMs?: number;
  /** Called once when that wait starts, with who holds the journal (default: a process warning). */
  onLockWait?: (holder: LockHolder) => void;
  /**
   * Anchors (tamper evidence outside the database): the shortest time between two anchors of one
   * book, in ms (default 1000). `false` turns anchors off; only an explicit false does.
   */
  anchors?: false | { intervalMs?: number };
  /** HMAC key for anchors (default: PFS_AUDIT_KEY). Keep it outside the database. */
  auditKey?: string;
  /** Keys that signed older anchors, still accepted by verify (default: PFS_AUDIT_KEYS_PREVIOUS, comma-separated). */
  auditKeysPrevious?: string[];
  /** Refuse to create a new store: the embedded journal folder must already exist (read-side tools). */
  mustExist?: boolean;
  /**
   * Components an overlay may use (`["Quiz", "Admonition"]`); overlays are untrusted markdown and any other
   * JSX, expression, ESM, handler or script URL is refused as UNSAFE_CONTENT (default: PFS_OVERLAY_COMPONENTS,
   * comma-separated; else none). Base pages stay full MDX.
   */
  overlayComponents?: readonly string[];
  /**
   * Open for reading only (a build's book source): no migrations (the schema version is checked
   * instead), no anchors, and every mutation is refused with FORBIDDEN. A role with SELECT grants is
   * enough (docs/plugin-sources.md). Implies mustExist.
   */
  readOnly?: boolean;
}

export interface ResolvedStoreConfig {
  databaseUrl?: string;
  dataDir: string;
  pgliteDir: string;
  storage: StorageConfig;
  limits: SizeLimits;
  mirror: false | "assets" | "all";
  poolSize: number;
  lockWaitMs: number;
  /** null: anchors off. */
  anchors: { intervalMs: number } | null;
  auditKey: string | null;
  auditKeysPrevious: string[];
  overlayComponents: string[];
  readOnly: boolean;
}

const DEFAULT_ANCHOR_INTERVAL_MS = 1000;

function resolveAnchors(opt: StoreOptions["anchors"]): ResolvedStoreConfig["anchors"] {
  if (opt === false) return null;
  const intervalMs = opt?.intervalMs ?? DEFAULT_ANCHOR_INTERVAL_MS;
  if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new PfsError("INVALID_ARGUMENT", "anchors.intervalMs must be a number of milliseconds ≥ 0.");
  return { intervalMs };
}

function resolveAuditKeys(opts: StoreOptions, env: Env): Pick<ResolvedStoreConfig, "auditKey" | "auditKeysPrevious"> {
  const auditKey = opts.auditKey ?? (env.PFS_AUDIT_KEY || null);
  const auditKeysPrevious = opts.auditKeysPrevious ?? (env.PFS_AUDIT_KEYS_PREVIOUS ?? "").split(",").map((k) => k.trim()).filter(Boolean);
  if (auditKey !== null && auditKey.length < 16) throw new PfsError("INVALID_ARGUMENT", "The audit key (PFS_AUDIT_KEY) must be at least 16 characters.");
  return { auditKey, auditKeysPrevious };
}

function resolveOverlayComponents(opt: StoreOptions["overlayComponents"], env: Env): string[] {
  const parsed = parseComponentList(opt ?? env.PFS_OVERLAY_COMPONENTS ?? []);
  if ("error" in parsed) throw new PfsError("INVALID_ARGUMENT", `overlayComponents (PFS_OVERLAY_COMPONENTS): ${parsed.error}.`);
  return parsed.components;
}

const DEFAULT_LIMITS: SizeLimits = { markdownBytes: 5 * 1024 * 1024, assetBytes: 500 * 1024 * 1024 };

type Env = Record<string, string | undefined>;

export function resolveStoreConfig(opts: StoreOptions = {}, env: Env = process.env): ResolvedStoreConfig {
  const dataDir = resolve(opts.dataDir ?? env.PFS_DATA_DIR ?? ".panaversity");
  const storage = opts.storage ?? s3ConfigFromEnv(env) ?? { kind: "local", dir: join(dataDir, "objects") };
  assertStorageConfig(storage);
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (opts.lockWaitMs !== undefined && (!Number.isFinite(opts.lockWaitMs) || opts.lockWaitMs < 0)) {
    throw new PfsError("INVALID_ARGUMENT", "lockWaitMs must be a number of milliseconds, 0 or more.");
  }
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
    lockWaitMs: opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
    anchors: opts.readOnly ? null : resolveAnchors(opts.anchors),
    ...resolveAuditKeys(opts, env),
    overlayComponents: resolveOverlayComponents(opts.overlayComponents, env),
    readOnly: opts.readOnly === true,
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
    `No store in ${config.dataDir} (its journal folder is missing). Check --data-dir / $PFS_DATA_DIR, or create a store with \`pfs import --create\` or \`pfs write\`.`,
    { missingStore: true },
  );
}
