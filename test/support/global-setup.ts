import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { openJournal } from "../../src/journal/db.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: string;
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
  return async () => {
    await rm(root, { recursive: true, force: true });
  };
}
