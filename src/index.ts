export { openStore, Store } from "./store/store.js";
export type { StoreOptions, StorageConfig, S3StorageConfig, LocalStorageConfig, SizeLimits } from "./store/config.js";
export type { WriteInput, WriteResult, DeleteInput, DeleteResult } from "./store/mutations.js";
export type { ReadInput, ReadResult, ListInput, ListEntry, Snapshot, SnapshotInput, FileMeta, Source } from "./store/reads.js";
export type { AuditQuery, AuditPage } from "./store/audit-query.js";
export { manifestHash } from "./store/manifest.js";
export { PfsError, isPfsError, ERROR_CODES, type ErrorCode } from "./errors/index.js";
export { parsePath, assertSafePath, validateTarget, BASE_USER, EXPECTED_SHAPES, type ParsedPath, type PathKind } from "./paths/index.js";
export { sha256Hex } from "./hashing/index.js";
