/**
 * yazl checksums every entry with buffer-crc32, a pure-JS CRC-32 (~130 MB/s on these machines), which made
 * CRC the archive's bottleneck. Node ≥ 20.15 has the same function natively in zlib (~10x faster). This
 * points the buffer-crc32 instance yazl loads at it; results are identical (both are the standard zip
 * CRC-32, chainable from a previous value), and on older Node nothing changes.
 */
import { createRequire } from "node:module";
import * as zlib from "node:zlib";

type Crc32Module = { unsigned: (buf: Buffer | string, previous?: number) => number };

let patched = false;

export function useNativeCrc32ForYazl(): void {
  const native = (zlib as { crc32?: (data: Buffer | string, value?: number) => number }).crc32;
  if (patched || typeof native !== "function") return;
  const requireFromYazl = createRequire(createRequire(import.meta.url).resolve("yazl"));
  const module = requireFromYazl("buffer-crc32") as Crc32Module;
  module.unsigned = (buf, previous) => native(buf, previous ?? 0);
  patched = true;
}
