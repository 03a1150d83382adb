/** The decisions of import and export as pure functions over "path → hash" maps. */

export interface LocalFile {
  path: string;
  hash: string;
  size: number;
}

export interface ImportPlan<F extends LocalFile = LocalFile> {
  create: F[];
  /** With the hash the book has now: the upload's expected hash. */
  update: (F & { expectedHash: string })[];
  unchanged: F[];
  /** Book files gone from the folder (only with prune), with the hash to delete against. */
  delete: { path: string; expectedHash: string }[];
}

/** What an import must do to make the book's base equal the folder (deletes only when `prune`). */
export function planImport<F extends LocalFile>(local: readonly F[], book: ReadonlyMap<string, string>, prune: boolean): ImportPlan<F> {
  const plan: ImportPlan<F> = { create: [], update: [], unchanged: [], delete: [] };
  const seen = new Set<string>();
  for (const f of local) {
    seen.add(f.path);
    const current = book.get(f.path);
    if (current === undefined) plan.create.push(f);
    else if (current === f.hash) plan.unchanged.push(f);
    else plan.update.push({ ...f, expectedHash: current });
  }
  if (prune) for (const [path, hash] of book) if (!seen.has(path)) plan.delete.push({ path, expectedHash: hash });
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  plan.create.sort(byPath);
  plan.update.sort(byPath);
  plan.delete.sort(byPath);
  return plan;
}

export interface ExportPlan {
  /** Book files to (re)write locally: missing or with different bytes. */
  write: { path: string; local: string; hash: string; size: number }[];
  unchanged: number;
  /** Local files that map into the book but are no longer in it. */
  remove: string[];
}

/**
 * `book`: book path → {local path, hash, size}; `local`: local path → hash for the files of the folder that
 * map into a book. Files of the folder that map nowhere (a `_category_.json`, say) are never touched.
 */
export function planExport(
  book: readonly { path: string; local: string; hash: string; size: number }[],
  local: ReadonlyMap<string, string>,
): ExportPlan {
  const plan: ExportPlan = { write: [], unchanged: 0, remove: [] };
  const wanted = new Set<string>();
  for (const f of book) {
    wanted.add(f.local);
    if (local.get(f.local) === f.hash) plan.unchanged++;
    else plan.write.push(f);
  }
  for (const path of local.keys()) if (!wanted.has(path)) plan.remove.push(path);
  plan.remove.sort();
  return plan;
}
