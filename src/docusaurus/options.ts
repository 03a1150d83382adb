/**
 * The plugin's option schema and defaults (DESIGN 4.5 / 4.8). Our own keys are validated here; every
 * other key is forwarded to the embedded @docusaurus/plugin-content-docs and validated by its schema.
 */
import { createRequire } from "node:module";
import type { OptionValidationContext } from "@docusaurus/types";
import type { PluginOptions as DocsPluginOptions } from "@docusaurus/plugin-content-docs";
import { BOOK_ID_PATTERN, USER_ID_PATTERN } from "../paths/index.js";
import type { StorageConfig } from "../store/config.js";
import { loadDocsPluginModule } from "./docs-module.js";
import { VIEW_DIR } from "./cache-layout.js";

// CommonJS packages are loaded with require: Node's ESM loader cannot see their named exports (`Joi` is
// defined by a getter), and require behaves the same under Node ESM, require(esm) and Docusaurus' jiti.
const { Joi } = createRequire(import.meta.url)("@docusaurus/utils-validation") as typeof import("@docusaurus/utils-validation");

export type OfflineMode = "fail" | "use-cache";

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
} satisfies Partial<PanaversityPluginOptions>;

const userId = Joi.string()
  .pattern(USER_ID_PATTERN)
  .messages({ "string.pattern.base": '{#label} must be a user id: 1-64 letters, digits, "_" and "-", starting with a letter or digit' });

const storageSchema = Joi.alternatives().try(
  Joi.object({ kind: Joi.string().valid("local").required(), dir: Joi.string().required() }),
  Joi.object({
    kind: Joi.string().valid("s3").required(),
    bucket: Joi.string().required(),
    endpoint: Joi.string(),
    region: Joi.string(),
    prefix: Joi.string().allow(""),
    accessKeyId: Joi.string(),
    secretAccessKey: Joi.string(),
    forcePathStyle: Joi.boolean(),
    requestTimeoutMs: Joi.number().integer().min(1),
    maxAttempts: Joi.number().integer().min(1),
  }),
);

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
  const docsOptions = loadDocsPluginModule().validateOptions({
    validate: validate as never,
    options: { ...docs, id: ours.id, path: docsContentPath(ours.cacheDir), routeBasePath: ours.routeBasePath } as never,
  }) as DocsPluginOptions;
  return { ...ours, docs: docsOptions };
}

/** The docs plugin's content folder, relative to the site (or absolute when cacheDir is). */
export function docsContentPath(cacheDir: string): string {
  return `${cacheDir.replace(/\/+$/, "")}/${VIEW_DIR}`;
}
