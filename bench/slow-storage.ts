/**
 * Counts every object GET from a local object folder, whoever opens the storage (the plugin opens its own
 * store, `pfs serve` another), and optionally delays each one: a local folder that reads like a remote bucket.
 */
import { LocalObjectStorage } from "../src/blobs/local.js";

export interface SlowStorage {
  gets(): number;
  restore(): void;
}

export function slowLocalStorage(latencyMs: number): SlowStorage {
  let gets = 0;
  const original = LocalObjectStorage.prototype.getStream;
  LocalObjectStorage.prototype.getStream = async function (this: LocalObjectStorage, key: string) {
    gets++;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    return original.call(this, key);
  };
  return {
    gets: () => gets,
    restore: () => void (LocalObjectStorage.prototype.getStream = original),
  };
}
