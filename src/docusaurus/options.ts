/**
 * The plugin's option schema and defaults (DESIGN 4.5 / 4.8). Our own keys are validated here; every
 * other key is forwarded to the embedded @docusaurus/plugin-content-docs and validated by its schema.
 */
import { createRequire } from "node:module";
import type { OptionValidationContext } from "@docusaurus/types";
import type { PluginOptions as DocsPluginOptions } from "@docusaurus/plugin-content-docs";
import { BOOK_ID_PATTERN, USER_ID_PATTERN } from "../paths/index.js";
import type { StorageConfig } from "../store/config.js";
import { STORAGE_FIELDS, storageFields, type StorageKind } from "../blobs/storage-config.js";
import { COMPONENT_NAME } from "../books/safe-html.js";
import { loadDocsPluginModule } from "./docs-module.js";
import { VIEW_DIR } from "./cache-layout.js";

// CommonJS packages are loaded with require: Node's ESM loader cannot see their named exports (`Joi` is
// defined by a getter), and require behaves the same under Node ESM, require(esm) and Docusaurus' jiti.
const { Joi } = createRequire(import.meta.url)("@docusaurus/utils-validation") as typeof import("@docusaurus/utils-validation");

export type OfflineMode = "fail" | "use-cache";

/** "build": overlayUsers get pages at build time (public); "live": no per-user pages, readers' overlays come from `pfs serve` (private). */
export type OverlayMode = "build" | "live";

/** Live overlays (DESIGN 4.10): where the reader endpoints are, and how long the shared text may stay hidden. */
export interface LiveOptions {
  /** `pfs serve` base URL, as the reader's browser reaches it (https://pfs.example.com). */
  serverUrl: string;
  /** At most this long (ms) the shared text of a page with a cached overlay stays hidden while the overlay loads. */
  pendingTimeoutMs: number;
}

/** What a site owner writes in docusaurus.config (our keys; docs-plugin keys ride along). */
export interface PanaversityPluginOptions {
  id: string;
  bookId: string;
  databaseUrl?: string;
  dataDir?: string;
  storage?: StorageConfig;
  routeBasePath: string;
  cacheDir: string;
  concurrency: number;
  previewUser?: string;
  overlayUsers: string[];
  includeSummaries: boolean;
  offline: OfflineMode;
  /** Dev server only: how often (ms) to poll the store for changes; false turns polling off. */
  pollInterval: number | false;
  /** Fetch attempts per object (first included) before the load fails. */
  fetchAttempts: number;
  /** Check every cached file on each load, not only those the plan touches (also PFS_VERIFY_CACHE=1). */
  verifyCache: boolean;
  overlays: OverlayMode;
  /** Required with overlays: "live". */
  live?: LiveOptions;
  /** The id of the book's generated sidebar (navbar `docSidebar` items name it); ignored with `sidebarPath`. */
  sidebarId: string;
  /** Show each lesson's summary above the doc footer (a theme component of the plugin; no swizzling). */
  showSummaries: boolean;
  /** Components an overlay page may use; overlays are compiled as safe markdown (docs/security.md). */
  overlayComponents: string[];
  /** Read the book from `pfs serve` with a read-only token (also PFS_SOURCE_URL + PFS_SOURCE_TOKEN). */
  source?: { url?: string; token?: string };
}

/** The normalized options the plugin factory receives. */
export interface PluginOptions extends PanaversityPluginOptions {
  /** The forwarded docs-plugin options, normalized by the docs plugin's own validateOptions. */
  docs: DocsPluginOptions;
}

export type Options = Partial<PanaversityPluginOptions> & { bookId: string } & Partial<DocsPluginOptions>;

export const DEFAULT_OPTIONS = {
  id: "default",
  routeBasePath: "docs",
  cacheDir: ".panaversity-cache",
  concurrency: 64,
  overlayUsers: [] as string[],
  includeSummaries: true,
  offline: "fail" as OfflineMode,
  pollInterval: 5000,
  fetchAttempts: 3,
  verifyCache: false,
  overlays: "build" as OverlayMode,
  sidebarId: "book",
  showSummaries: false,
  overlayComponents: [] as string[],
} satisfies Partial<PanaversityPluginOptions>;

const userId = Joi.string()
  .pattern(USER_ID_PATTERN)
  .messages({ "string.pattern.base": '{#label} must be a user id: 1-64 letters, digits, "_" and "-", starting with a letter or digit' });

type JoiSchema = ReturnType<typeof Joi.any>;

/** One storage kind's Joi object, derived from the storage table (blobs/storage-config.ts) like the env parsing. */
function storageKindSchema(kind: StorageKind) {
  const keys: Record<string, JoiSchema> = { kind: Joi.string().valid(kind).required() };
  for (const [name, spec] of storageFields(kind)) {
    let field: JoiSchema =
      spec.type === "string"
        ? spec.allowEmpty ? Joi.string().allow("") : Joi.string()
        : spec.type === "boolean"
          ? Joi.boolean()
          : Joi.number().integer().min(spec.min ?? 0);
    if (spec.required) field = field.required();
    keys[name] = field;
  }
  return Joi.object(keys);
}

const STORAGE_KINDS = Object.keys(STORAGE_FIELDS) as StorageKind[];
const storageSchema = Joi.alternatives().conditional(".kind", {
  switch: STORAGE_KINDS.map((kind) => ({ is: kind, then: storageKindSchema(kind) })),
  otherwise: Joi.object({ kind: Joi.string().valid(...STORAGE_KINDS).required() }).unknown(),
});

/** Our own keys; `id` is appended by Docusaurus' normalizePluginOptions. */
export const OWN_OPTIONS_SCHEMA = Joi.object<PanaversityPluginOptions>({
  bookId: Joi.string()
    .pattern(BOOK_ID_PATTERN)
    .required()
    .messages({ "string.pattern.base": "{#label} must be 3-64 lowercase letters, digits and '-', starting and ending with a letter or digit" }),
  databaseUrl: Joi.string().pattern(/^postgres(ql)?:\/\//).messages({ "string.pattern.base": "{#label} must be a postgres:// URL" }),
  dataDir: Joi.string(),
  storage: storageSchema,
  routeBasePath: Joi.string().allow("").default(DEFAULT_OPTIONS.routeBasePath),
  cacheDir: Joi.string().default(DEFAULT_OPTIONS.cacheDir),
  concurrency: Joi.number().integer().min(1).max(256).default(DEFAULT_OPTIONS.concurrency),
  previewUser: userId,
  overlayUsers: Joi.array().items(userId).unique().default(DEFAULT_OPTIONS.overlayUsers),
  includeSummaries: Joi.boolean().default(DEFAULT_OPTIONS.includeSummaries),
  offline: Joi.string().valid("fail", "use-cache").default(DEFAULT_OPTIONS.offline),
  pollInterval: Joi.alternatives().try(Joi.number().integer().min(250), Joi.boolean().valid(false)).default(DEFAULT_OPTIONS.pollInterval),
  fetchAttempts: Joi.number().integer().min(1).max(10).default(DEFAULT_OPTIONS.fetchAttempts),
  verifyCache: Joi.boolean().default(DEFAULT_OPTIONS.verifyCache),
  overlays: Joi.string().valid("build", "live").default(DEFAULT_OPTIONS.overlays),
  live: Joi.when("overlays", {
    is: "live",
    then: Joi.object({
      serverUrl: Joi.string().uri({ scheme: ["http", "https"] }).required(),
      pendingTimeoutMs: Joi.number().integer().min(0).max(10_000).default(1500),
    }).required(),
    otherwise: Joi.forbidden().messages({ "any.unknown": '{#label} is only for overlays: "live"' }),
  }),
  sidebarId: Joi.string()
    .pattern(/^[A-Za-z0-9_-]{1,64}$/)
    .default(DEFAULT_OPTIONS.sidebarId)
    .messages({ "string.pattern.base": '{#label} must be 1-64 letters, digits, "_" and "-"' }),
  showSummaries: Joi.boolean().default(DEFAULT_OPTIONS.showSummaries),
  overlayComponents: Joi.array()
    .items(Joi.string().pattern(COMPONENT_NAME).messages({ "string.pattern.base": "{#label} must be a component name (capitalised, e.g. Quiz or Tabs.Item)" }))
    .unique()
    .default(DEFAULT_OPTIONS.overlayComponents),
  source: Joi.object({ url: Joi.string().uri({ scheme: ["http", "https"] }), token: Joi.string() }),
});

const OWN_KEYS = new Set([...Object.keys(OWN_OPTIONS_SCHEMA.describe().keys ?? {}), "id"]);
/** Docs-plugin options the plugin sets itself. */
const RESERVED_DOCS_KEYS = ["path"] as const;

/** Pure: splits user options into ours and the ones forwarded to the docs plugin. */
export function splitOptions(options: Record<string, unknown>): { own: Record<string, unknown>; docs: Record<string, unknown> } {
  const own: Record<string, unknown> = {};
  const docs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) (OWN_KEYS.has(key) ? own : docs)[key] = value;
  return { own, docs };
}

export function validateOptions({ validate, options }: OptionValidationContext<Options | undefined, PluginOptions>): PluginOptions {
  const { own, docs } = splitOptions((options ?? {}) as Record<string, unknown>);
  for (const key of RESERVED_DOCS_KEYS) {
    if (key in docs) {
      throw new Error(`panaversity-fs/docusaurus: the "${key}" option is not supported: the plugin materializes the book into cacheDir and points the docs plugin there.`);
    }
  }
  const ours = validate(OWN_OPTIONS_SCHEMA as never, own as never) as unknown as PanaversityPluginOptions;
  if (ours.previewUser && ours.overlayUsers.includes(ours.previewUser)) {
    throw new Error(`panaversity-fs/docusaurus: "${ours.previewUser}" is both previewUser and in overlayUsers; a preview build already shows that user's book.`);
  }
  if (ours.overlays === "live" && (ours.overlayUsers.length > 0 || ours.previewUser)) {
    throw new Error('panaversity-fs/docusaurus: overlays: "live" renders no per-user pages; leave out overlayUsers and previewUser (live overlays come from pfs serve).');
  }
  const docsOptions = loadDocsPluginModule().validateOptions({
    validate: validate as never,
    options: { ...docs, id: ours.id, path: docsContentPath(ours.cacheDir), routeBasePath: ours.routeBasePath } as never,
  }) as DocsPluginOptions;
  return { ...ours, docs: docsOptions };
}

/**
 * `verifyCache`, or PFS_VERIFY_CACHE=1 (true, yes) in the environment: Docusaurus' CLI passes no unknown
 * flags to plugins, so CI asks for a full cache check this way without editing the site config.
 */
export function verifyCacheOf(option: boolean, env: NodeJS.ProcessEnv): boolean {
  return option || /^(1|true|yes)$/i.test(env.PFS_VERIFY_CACHE ?? "");
}

/** The docs plugin's content folder, relative to the site (or absolute when cacheDir is). */
export function docsContentPath(cacheDir: string): string {
  return `${cacheDir.replace(/\/+$/, "")}/${VIEW_DIR}`;
}
