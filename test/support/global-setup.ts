import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { openJournal } from "../../src/journal/db.js";
import { startS3rver } from "./s3rver.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: string;
    /** The s3rver child process of this run (each store under test makes its own bucket). */
    s3Endpoint: string;
    /** Its data folder: one subfolder per bucket. */
    s3Directory: string;
  }
}

/**
 * A fresh PGlite runs initdb (seconds, ~800 MB); a migrated template folder is made once per run
 * and copied for each store under test (reopening a folder takes well under a second).
 */
export default async function setup(project: TestProject) {
  const root = await mkdtemp(join(tmpdir(), "pfs-pglite-template-"));
  const dir = join(root, "journal");
  const journal = await openJournal({ pgliteDir: dir });
  await journal.close();
  project.provide("pgliteTemplate", dir);
  // One S3 server per run, in its own process (it needs --openssl-legacy-provider); it exits
  // on its own when this process dies, since it watches its stdin.
  const s3 = await startS3rver();
  project.provide("s3Endpoint", s3.endpoint);
  project.provide("s3Directory", s3.directory);
  return async () => {
    await s3.stop();
    await rm(root, { recursive: true, force: true });
  };
}
