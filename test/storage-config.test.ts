/** The storage configuration is defined once (blobs/storage-config.ts): plugin options, env and openStore agree. */
import { describe, expect, it } from "vitest";
import { normalizePluginOptions } from "@docusaurus/utils-validation";
import { STORAGE_FIELDS, s3ConfigFromEnv } from "../src/blobs/storage-config.js";
import { validateOptions } from "../src/docusaurus/options.js";
import { resolveStoreConfig } from "../src/store/config.js";
import { isPfsError } from "../src/errors/index.js";

const plugin = (storage: unknown) => validateOptions({ validate: normalizePluginOptions as never, options: { bookId: "python-book", storage } as never }).storage;
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isPfsError(err) ? err.code : "not a PfsError";
  }
};

/** Bad values per field: as a site config writes them (JS values) and as the environment holds them (strings). */
const BAD: { field: keyof typeof STORAGE_FIELDS.s3; option: unknown; env: string }[] = [
  { field: "forcePathStyle", option: "yes", env: "yes" },
  { field: "forcePathStyle", option: 2, env: "2" },
  { field: "requestTimeoutMs", option: 0, env: "0" },
  { field: "requestTimeoutMs", option: 1.5, env: "1.5" },
  { field: "requestTimeoutMs", option: -300, env: "-300" },
  { field: "maxAttempts", option: 0, env: "0" },
  { field: "maxAttempts", option: "three", env: "three" },
];

describe("storage configuration", () => {
  it("every S3 field but none of the local folder's has an environment variable, all PFS_S3_* first", () => {
    for (const [name, spec] of Object.entries(STORAGE_FIELDS.s3)) expect(spec.env[0], name).toMatch(/^PFS_S3_/);
    expect(Object.values(STORAGE_FIELDS.local).every((spec) => !("env" in spec))).toBe(true);
  });

  it("the plugin accepts both kinds with every field and names the bad one", () => {
    const s3 = { kind: "s3", bucket: "b", endpoint: "http://127.0.0.1:9000", region: "auto", prefix: "", accessKeyId: "id", secretAccessKey: "secret", forcePathStyle: true, requestTimeoutMs: 300, maxAttempts: 2 };
    expect(plugin(s3)).toEqual(s3);
    expect(plugin({ kind: "local", dir: "objs" })).toEqual({ kind: "local", dir: "objs" });
    expect(() => plugin({ kind: "s3" })).toThrow(/"storage.bucket" is required/);
    expect(() => plugin({ kind: "local" })).toThrow(/"storage.dir" is required/);
    expect(() => plugin({ kind: "ftp", dir: "x" })).toThrow(/"storage.kind" must be one of \[local, s3\]/);
    expect(() => plugin({ kind: "local", dir: "x", bucket: "b" })).toThrow(/"storage.bucket" is not allowed/);
    expect(() => plugin({ kind: "s3", bucket: "" })).toThrow(/"storage.bucket" is not allowed to be empty/);
  });

  it("the environment gives the same fields, converting booleans (true/false/1/0) and whole numbers", () => {
    const env = { PFS_S3_BUCKET: "b", PFS_S3_FORCE_PATH_STYLE: "1", PFS_S3_REQUEST_TIMEOUT_MS: "300", PFS_S3_MAX_ATTEMPTS: "2", PFS_S3_PREFIX: "p" };
    expect(s3ConfigFromEnv(env)).toEqual({ kind: "s3", bucket: "b", forcePathStyle: true, requestTimeoutMs: 300, maxAttempts: 2, prefix: "p" });
    expect(s3ConfigFromEnv({ PFS_S3_BUCKET: "b", PFS_S3_FORCE_PATH_STYLE: "FALSE" })?.forcePathStyle).toBe(false);
    // An empty variable is unset (a shell's `VAR=`): the next name in the list is used.
    expect(s3ConfigFromEnv({ PFS_S3_BUCKET: "b", PFS_S3_ENDPOINT: "", AWS_ENDPOINT_URL: "http://h:1" })?.endpoint).toBe("http://h:1");
    expect(s3ConfigFromEnv({ PFS_S3_BUCKET: "" })).toBeUndefined();
  });

  it.each(BAD)("plugin options and the environment both refuse $field = $env", ({ field, option, env }) => {
    expect(() => plugin({ kind: "s3", bucket: "b", [field]: option })).toThrow(new RegExp(`"storage.${field}" must`));
    const variable = STORAGE_FIELDS.s3[field].env[0];
    expect(() => s3ConfigFromEnv({ PFS_S3_BUCKET: "b", [variable]: env })).toThrow(new RegExp(`^${variable} must .*; got "${env}"`));
    expect(codeOf(() => resolveStoreConfig({}, { PFS_S3_BUCKET: "b", [variable]: env }))).toBe("INVALID_ARGUMENT");
    // openStore's own storage option is checked by the same table.
    expect(codeOf(() => resolveStoreConfig({ storage: { kind: "s3", bucket: "b", [field]: option } as never }, {}))).toBe("INVALID_ARGUMENT");
  });

  it("openStore refuses an S3 storage option without a bucket, and an unknown kind", () => {
    expect(() => resolveStoreConfig({ storage: { kind: "s3" } as never }, {})).toThrow(/S3 storage needs storage.bucket \(or PFS_S3_BUCKET\)/);
    expect(codeOf(() => resolveStoreConfig({ storage: { kind: "ftp" } as never }, {}))).toBe("INVALID_ARGUMENT");
  });
});
