/**
 * The storage configuration, defined once: each field's type, bounds and environment variables. The
 * TS types below, the plugin's Joi schema (docusaurus/options.ts), the environment parsing and the check
 * of openStore's `storage` option all derive from this table, so they cannot drift apart. Pure.
 */
import { PfsError } from "../errors/index.js";

interface FieldSpec {
  readonly type: "string" | "boolean" | "integer";
  readonly required?: true;
  /** Strings only: "" is a value (an S3 prefix of "" is the bucket's root). */
  readonly allowEmpty?: true;
  /** Integers only: the smallest value. */
  readonly min?: number;
  /** Environment variables, the first set (non-empty) one wins. None: the field has no env form. */
  readonly env?: readonly string[];
}

export const STORAGE_FIELDS = {
  local: {
    /** The folder objects are stored in (no env form: PFS_DATA_DIR decides <data-dir>/objects). */
    dir: { type: "string", required: true },
  },
  s3: {
    bucket: { type: "string", required: true, env: ["PFS_S3_BUCKET"] },
    endpoint: { type: "string", env: ["PFS_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] },
    region: { type: "string", env: ["PFS_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"] },
    prefix: { type: "string", allowEmpty: true, env: ["PFS_S3_PREFIX"] },
    accessKeyId: { type: "string", env: ["PFS_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"] },
    secretAccessKey: { type: "string", env: ["PFS_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"] },
    forcePathStyle: { type: "boolean", env: ["PFS_S3_FORCE_PATH_STYLE"] },
    /** Per-request timeout in ms (default 30 s). */
    requestTimeoutMs: { type: "integer", min: 1, env: ["PFS_S3_REQUEST_TIMEOUT_MS"] },
    /** Attempts for a transient failure, first included (default 5). */
    maxAttempts: { type: "integer", min: 1, env: ["PFS_S3_MAX_ATTEMPTS"] },
  },
} as const satisfies Record<string, Record<string, FieldSpec>>;

type Fields = typeof STORAGE_FIELDS;
export type StorageKind = keyof Fields;
type ValueOf<S> = S extends { type: "string" } ? string : S extends { type: "boolean" } ? boolean : number;
type Required<F> = { [P in keyof F as F[P] extends { required: true } ? P : never]: ValueOf<F[P]> };
type Optional<F> = { [P in keyof F as F[P] extends { required: true } ? never : P]?: ValueOf<F[P]> };
type ConfigOf<K extends StorageKind> = { [P in keyof ({ kind: K } & Required<Fields[K]> & Optional<Fields[K]>)]: ({ kind: K } & Required<Fields[K]> & Optional<Fields[K]>)[P] };

export type LocalStorageConfig = ConfigOf<"local">;
export type S3StorageConfig = ConfigOf<"s3">;
export type StorageConfig = LocalStorageConfig | S3StorageConfig;

const KINDS = Object.keys(STORAGE_FIELDS) as StorageKind[];

/** The fields of one kind, as a list (for the Joi schema and the checks). */
export function storageFields(kind: StorageKind): [string, FieldSpec][] {
  return Object.entries(STORAGE_FIELDS[kind]);
}

/** Why `value` does not fit the field, or null. */
function problemOf(spec: FieldSpec, value: unknown): string | null {
  if (spec.type === "string") {
    if (typeof value !== "string") return "must be a string";
    return value === "" && !spec.allowEmpty ? "must not be empty" : null;
  }
  if (spec.type === "boolean") return typeof value === "boolean" ? null : "must be true or false";
  return Number.isInteger(value) && (value as number) >= (spec.min ?? -Infinity) ? null : `must be a whole number, ${spec.min ?? 0} or more`;
}

function invalid(name: string, problem: string, value: unknown): PfsError {
  return new PfsError("INVALID_ARGUMENT", `${name} ${problem}; got ${JSON.stringify(value)}.`);
}

/** Checks an openStore `storage` option field by field (INVALID_ARGUMENT naming the field); unknown keys are left to the type checker. */
export function assertStorageConfig(config: StorageConfig): void {
  if (!KINDS.includes(config?.kind)) throw invalid("storage.kind", `must be one of ${KINDS.map((k) => `"${k}"`).join(", ")}`, config?.kind);
  for (const [name, spec] of storageFields(config.kind)) {
    const value = (config as Record<string, unknown>)[name];
    if (value === undefined) {
      if (spec.required) throw new PfsError("INVALID_ARGUMENT", `${config.kind === "s3" ? "S3" : "Local"} storage needs storage.${name}${spec.env ? ` (or ${spec.env[0]})` : ""}.`);
      continue;
    }
    const problem = problemOf(spec, value);
    if (problem) throw invalid(`storage.${name}`, problem, value);
  }
}

/** An environment string as the field's type: booleans take true/false/1/0, integers decimal digits. */
function fromEnv(spec: FieldSpec, raw: string): unknown {
  if (spec.type === "boolean") return /^(true|1)$/i.test(raw) ? true : /^(false|0)$/i.test(raw) ? false : raw;
  if (spec.type === "integer") return /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
  return raw;
}

type Env = Record<string, string | undefined>;

/**
 * S3 storage from the environment when PFS_S3_BUCKET is set, else undefined (the local folder). An empty
 * variable counts as unset; a bad value is INVALID_ARGUMENT naming the variable.
 */
export function s3ConfigFromEnv(env: Env): S3StorageConfig | undefined {
  if (!env.PFS_S3_BUCKET) return undefined;
  const config: Record<string, unknown> = { kind: "s3" };
  for (const [name, spec] of storageFields("s3")) {
    const variable = spec.env?.find((v) => env[v]);
    if (!variable) continue;
    const raw = env[variable]!;
    const value = fromEnv(spec, raw);
    const problem = problemOf(spec, value);
    if (problem) throw invalid(variable, spec.type === "boolean" ? "must be true or false (or 1 / 0)" : problem, raw);
    config[name] = value;
  }
  return config as S3StorageConfig;
}
