/**
 * Which book source a load uses, kept once per process (on globalThis: Docusaurus loads plugin modules
 * afresh for each locale and reload) so every load and dev-server poll reuses one open source.
 */
import type { StoreOptions } from "../../store/config.js";
import { directSource } from "./direct.js";
import { httpSource, type HttpSourceOptions } from "./http.js";
import type { BookSource } from "./types.js";

export type { BookSource, SourceSession, LoadRequest, ObjectRequest } from "./types.js";
export { directSource } from "./direct.js";
export { httpSource, type HttpSourceOptions } from "./http.js";

/** `pfs serve` with a read token, or a BookSource made by the caller. */
export type SourceChoice = HttpSourceOptions | BookSource;

const KEY = Symbol.for("panaversity-fs.docusaurus.sources");

function sources(): Map<string, BookSource> {
  const g = globalThis as { [KEY]?: Map<string, BookSource> };
  return (g[KEY] ??= new Map());
}

function isBookSource(s: SourceChoice): s is BookSource {
  return typeof (s as BookSource).session === "function";
}

/** The source for these options: the one given, `pfs serve`'s, or the direct one on the store options. */
export function sourceFor(opts: { store: StoreOptions; source?: SourceChoice }): BookSource {
  if (opts.source && isBookSource(opts.source)) return opts.source;
  const key = JSON.stringify(opts.source ? ["http", opts.source] : ["direct", opts.store]);
  let source = sources().get(key);
  if (!source) {
    source = opts.source ? httpSource(opts.source) : directSource(opts.store);
    sources().set(key, source);
  }
  return source;
}

/** Closes every source this process opened (tests, benchmarks, scripts that exit cleanly). */
export async function closeSources(): Promise<void> {
  const all = [...sources().values()];
  sources().clear();
  await Promise.all(all.map((s) => s.close()));
}
