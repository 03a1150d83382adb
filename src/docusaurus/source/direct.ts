/**
 * The direct book source: the store itself (journal + bucket), opened read-only (no migrations, no
 * writes; a role with SELECT grants is enough, see docs/plugin-sources.md). On PostgreSQL it is opened
 * once per process and kept for every load and dev-server poll; an embedded journal (PGlite) is opened
 * per load, because one process at a time may hold it and the author's `pfs` commands need it too.
 */
import { openStore, type Store } from "../../store/store.js";
import { resolveStoreConfig, type StoreOptions } from "../../store/config.js";
import type { BookSource, SourceSession } from "./types.js";

function sessionOf(store: Store): SourceSession {
  return {
    planLoad: (r) => store.planLoad({ bookId: r.bookId, targetManifestHash: r.targetManifestHash, userIds: r.userIds }),
    openObject: async (r) => (await store.openObject({ hash: r.hash })).stream,
  };
}

export function directSource(options: StoreOptions): BookSource {
  const readOnly: StoreOptions = { ...options, readOnly: true };
  const config = resolveStoreConfig(readOnly);
  const keep = config.databaseUrl !== undefined;
  let open: Promise<Store> | undefined;
  const kept = (): Promise<Store> => {
    if (!open) {
      const opening = openStore(readOnly);
      open = opening;
      opening.catch(() => {
        if (open === opening) open = undefined; // a failed open is not remembered: the next load tries again
      });
    }
    return open;
  };
  return {
    kind: "direct",
    description: config.databaseUrl ? "the store (PostgreSQL journal)" : `the store in ${config.dataDir}`,
    async session(fn) {
      if (keep) return fn(sessionOf(await kept()));
      const store = await openStore(readOnly);
      try {
        return await fn(sessionOf(store));
      } finally {
        await store.close().catch(() => {});
      }
    },
    async close() {
      const o = open;
      open = undefined;
      if (o) await (await o.catch(() => undefined))?.close().catch(() => {});
    },
  };
}
