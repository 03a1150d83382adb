/**
 * Reading what a load left in the cache: summaries, the JSON report, and offline: "use-cache" — a
 * build from a complete cache when the source is unreachable (never from a partial or corrupt one).
 */
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import type { LimitFunction } from "p-limit";
import { PfsError } from "../errors/index.js";
import { sha256Hex } from "../hashing/index.js";
import { hashFile, writeFileAtomic } from "../fsutil/index.js";
import { isInertCopy, overlayTargetsOf } from "./overlay-safety.js";
import { REPORT_FILE, STATIC_DIR, VIEW_DIR, objectFile } from "./cache-layout.js";
import { viewsKey } from "./cache-plan.js";
import { readManifest, walkFiles } from "./cache-fs.js";
import type { LoadStats } from "./report.js";
import type { SyncOptions, SyncResult } from "./sync.js";

/** Summary texts from their cached objects, each checked against its hash (an offline build trusts nothing unchecked). */
async function readVerifiedSummaries(cacheDir: string, hashes: Readonly<Record<string, string>>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [key, hash] of Object.entries(hashes)) {
    const bytes = await readFile(join(cacheDir, objectFile(hash)));
    if (sha256Hex(bytes) !== hash) throw new Error(`summary object ${hash} is corrupt`);
    out.set(key, bytes.toString("utf8"));
  }
  return out;
}

/**
 * The summary texts a load hands to the site: the last load's text where a summary's object is the
 * same, the cached object's bytes otherwise (read in parallel).
 */
export async function summaryTextsFor(
  cacheDir: string,
  wanted: ReadonlyMap<string, string>,
  previous: { hashes: Readonly<Record<string, string>>; texts: ReadonlyMap<string, string> } | null,
  limit: LimitFunction,
): Promise<Map<string, string>> {
  const read = new Map<string, string>();
  await Promise.all(
    [...wanted].filter(([key, hash]) => previous?.hashes[key] !== hash || !previous.texts.has(key)).map(([key, hash]) =>
      limit(async () => void read.set(key, (await readFile(join(cacheDir, objectFile(hash)))).toString("utf8"))),
    ),
  );
  return new Map([...wanted.keys()].map((key) => [key, read.get(key) ?? previous!.texts.get(key)!]));
}

export async function writeReport(cacheDir: string, stats: LoadStats): Promise<void> {
  await writeFileAtomic(join(cacheDir, REPORT_FILE), JSON.stringify({ ...stats, at: new Date().toISOString() }, null, 2) + "\n");
}

/**
 * offline: "use-cache" — the journal or storage is unreachable. The cache is used only when it is
 * complete for these options and every file still hashes to what the manifest says.
 */
export async function loadFromCache(opts: SyncOptions, cause: PfsError, started: number): Promise<SyncResult> {
  const what = cause.code === "JOURNAL_UNAVAILABLE" ? "journal" : "storage";
  const refuse = (why: string): never => {
    throw new PfsError(cause.code, `panaversity-fs: the ${what} is unreachable (${cause.message}) and the local cache cannot be used: ${why}.`, { ...cause.details, cacheDir: opts.cacheDir }, { cause });
  };
  const manifest = await readManifest(opts.cacheDir);
  if (!manifest) return refuse(`there is no complete cache in ${opts.cacheDir}`);
  if (manifest.bookId !== opts.bookId || manifest.viewsKey !== viewsKey(opts)) {
    return refuse(`it was built for other options (book ${manifest.bookId}, views ${manifest.viewsKey})`);
  }
  const onDisk = await walkFiles(opts.cacheDir, [VIEW_DIR, STATIC_DIR]);
  for (const target of onDisk.keys()) if (!manifest.targets[target]) refuse(`${target} is not part of the last complete load (a load was interrupted)`);
  const overlayFiles = overlayTargetsOf(Object.entries(manifest.targets), manifest.overlays, opts.previewUser);
  for (const [target, entry] of Object.entries(manifest.targets)) {
    if (!onDisk.has(target)) refuse(`${target} (${entry.bookPath}) is missing`);
    const matches = (await hashFile(join(opts.cacheDir, target))).hash === entry.hash || (overlayFiles.has(target) && (await isInertCopy(opts.cacheDir, target, entry, opts.overlayComponents ?? [])));
    if (!matches) refuse(`${target} (${entry.bookPath}) does not match its hash (corrupt)`);
  }
  let summaries: Map<string, string>;
  try {
    summaries = await readVerifiedSummaries(opts.cacheDir, manifest.summaries);
  } catch (err) {
    return refuse(`a cached summary is missing or corrupt (${(err as Error).message})`);
  }
  opts.warn?.(
    `\n!!! panaversity-fs OFFLINE BUILD: the ${what} is unreachable (${cause.message}).\n` +
      `!!! Building book "${opts.bookId}" from the local cache of ${manifest.writtenAt} (manifest ${manifest.manifestHash.slice(0, 12)}); ` +
      `recent changes in the store are NOT included.\n`,
  );
  const stats: LoadStats = {
    bookId: opts.bookId,
    manifestHash: manifest.manifestHash,
    pages: manifest.pages,
    fetched: 0,
    reused: Object.keys(manifest.objects).length,
    written: 0,
    deleted: 0,
    bytes: 0,
    ms: Date.now() - started,
    views: manifest.views,
    offline: true,
    repaired: 0,
    mode: "offline",
    verified: true,
    journal: { queries: 0, rows: 0 },
  };
  await writeReport(opts.cacheDir, stats);
  return { stats, fingerprint: manifest.fingerprint, summaries, overlayFiles: [...overlayFiles] };
}
