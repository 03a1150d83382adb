/**
 * Build-time safety of overlay pages (DESIGN 4.9, invariant R10): whatever the journal holds (rows written
 * around the store, a database edited by hand, rows older than the write-time check), an overlay page is
 * materialized only when it is safe markdown; otherwise an inert notice naming line:col takes its place.
 * Decisions are pure; `placeTarget` is the one I/O step the sync calls for each view file it writes.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { checkSafeMarkdown, type SafetyViolation } from "../books/safe-markdown.js";
import type { OverlayFile } from "../store/plan.js";
import { VIEW_DIR, bookPathOfViewFile, objectFile } from "./cache-layout.js";
import { placeObject } from "./cache-fs.js";
import { writeFileAtomic } from "../fsutil/index.js";

export interface OverlaySafety {
  /** Components an overlay may use (plugin option overlayComponents). */
  components: readonly string[];
  /** Cache-relative targets (docs/…) that hold an overlay, not a base page. */
  overlayTargets: ReadonlySet<string>;
}

/** The overlay user whose view a docs/ target belongs to (docs/u/<user>/… or, in the main view, previewUser). */
function userOfTarget(target: string, previewUser: string | undefined): string | undefined {
  if (!target.startsWith(`${VIEW_DIR}/`)) return undefined;
  return bookPathOfViewFile(target.slice(VIEW_DIR.length + 1)).user ?? previewUser;
}

/**
 * Which targets are overlay pages: a page target whose view's user has an overlay of that book path with
 * that hash. Works from a desired state or from a stored manifest (target → { hash, bookPath }).
 */
export function overlayTargetsOf(
  targets: Iterable<[string, { hash: string; bookPath: string }]>,
  overlays: readonly OverlayFile[],
  previewUser: string | undefined,
): Set<string> {
  const known = new Set(overlays.map((o) => `${o.userId}|${o.path}|${o.hash}`));
  const out = new Set<string>();
  for (const [target, t] of targets) {
    const user = userOfTarget(target, previewUser);
    if (user !== undefined && /\.mdx?$/.test(t.bookPath) && known.has(`${user}|${t.bookPath}|${t.hash}`)) out.add(target);
  }
  return out;
}

/** Text fit to quote in markdown: no markup, braces, backticks or URLs survive. */
function quotable(text: string): string {
  return text.replace(/[^A-Za-z0-9 :.,()'-]/g, " ").replace(/\s+/g, " ").trim().slice(0, 160);
}

/** The inert page shown in place of an unsafe overlay: plain markdown, no links, nothing from the overlay but line:col and a sanitized reason. */
export function inertOverlayPage(bookPath: string, violations: readonly SafetyViolation[]): string {
  const first = violations[0];
  const where = first ? `line ${first.line}, column ${first.column}: ${quotable(first.construct)}` : "unknown position";
  return [
    "# Personalized page unavailable",
    "",
    `The personalized version of ${quotable(bookPath.replace(/^content\//, ""))} was not built because it is not safe markdown (${where}).`,
    "",
    "Overlays are untrusted: they may not hold import/export, expressions, event handlers, script URLs or components off the site's list. The shared page is unchanged.",
    "",
  ].join("\n");
}

/** The bytes to materialize for one view file: the object itself, or for an unsafe overlay the inert page. */
export function overlayBytes(bytes: Buffer, bookPath: string, components: readonly string[]): { safe: true } | { safe: false; page: string; violations: SafetyViolation[] } {
  const violations = checkSafeMarkdown(bytes, { components, path: bookPath });
  return violations.length === 0 ? { safe: true } : { safe: false, page: inertOverlayPage(bookPath, violations), violations };
}

/**
 * Writes one view file: base pages and assets are hard links to their object; an overlay page is checked
 * first and an unsafe one is written as the inert page instead. Returns the violations (empty: as stored).
 */
export async function placeTarget(cacheDir: string, target: string, want: { hash: string; bookPath: string }, safety: OverlaySafety): Promise<SafetyViolation[]> {
  if (!safety.overlayTargets.has(target)) {
    await placeObject(cacheDir, want.hash, target);
    return [];
  }
  const result = overlayBytes(await readFile(join(cacheDir, objectFile(want.hash))), want.bookPath, safety.components);
  if (result.safe) {
    await placeObject(cacheDir, want.hash, target);
    return [];
  }
  await writeFileAtomic(join(cacheDir, target), result.page);
  return result.violations;
}

/** A cached overlay file that differs from its object: is it exactly the inert page for that object (offline builds check)? */
export async function isInertCopy(cacheDir: string, target: string, entry: { hash: string; bookPath: string }, components: readonly string[]): Promise<boolean> {
  try {
    const result = overlayBytes(await readFile(join(cacheDir, objectFile(entry.hash))), entry.bookPath, components);
    return !result.safe && (await readFile(join(cacheDir, target), "utf8")) === result.page;
  } catch {
    return false;
  }
}
