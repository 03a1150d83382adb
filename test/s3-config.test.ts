import { describe, expect, it } from "vitest";
import { resolveStoreConfig, s3ConfigFromEnv } from "../src/store/config.js";
import { defaultForcePathStyle } from "../src/blobs/s3.js";

describe("S3 configuration from the environment", () => {
  it("reads PFS_S3_* first", () => {
    const env = {
      PFS_S3_BUCKET: "books",
      PFS_S3_ENDPOINT: "https://acct.r2.cloudflarestorage.com",
      PFS_S3_REGION: "auto",
      PFS_S3_PREFIX: "prod",
      PFS_S3_ACCESS_KEY_ID: "pfs-id",
      PFS_S3_SECRET_ACCESS_KEY: "pfs-secret",
      PFS_S3_FORCE_PATH_STYLE: "false",
      AWS_ACCESS_KEY_ID: "aws-id",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
      AWS_REGION: "eu-west-1",
    };
    expect(s3ConfigFromEnv(env)).toEqual({
      kind: "s3",
      bucket: "books",
      endpoint: "https://acct.r2.cloudflarestorage.com",
      region: "auto",
      prefix: "prod",
      accessKeyId: "pfs-id",
      secretAccessKey: "pfs-secret",
      forcePathStyle: false,
    });
  });

  it("falls back to the usual AWS_* variables", () => {
    const c = s3ConfigFromEnv({
      PFS_S3_BUCKET: "books",
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "aws-id",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
    });
    expect(c).toMatchObject({ endpoint: "http://127.0.0.1:9000", region: "us-east-1", accessKeyId: "aws-id", secretAccessKey: "aws-secret" });
  });

  it("without PFS_S3_BUCKET the store uses the local folder; with it, S3", () => {
    expect(resolveStoreConfig({ dataDir: "/tmp/pfs-x" }, {}).storage).toEqual({ kind: "local", dir: "/tmp/pfs-x/objects" });
    expect(resolveStoreConfig({ dataDir: "/tmp/pfs-x" }, { PFS_S3_BUCKET: "books" }).storage).toMatchObject({ kind: "s3", bucket: "books" });
  });

  it("an explicit storage option wins over the environment", () => {
    const storage = { kind: "local" as const, dir: "/tmp/pfs-y" };
    expect(resolveStoreConfig({ storage }, { PFS_S3_BUCKET: "books" }).storage).toEqual(storage);
  });

  it("uses path-style addressing for custom endpoints (local servers, R2) and virtual hosts for AWS", () => {
    expect(defaultForcePathStyle("http://127.0.0.1:4568")).toBe(true);
    expect(defaultForcePathStyle(undefined)).toBe(false);
  });
});
