import type { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import { fromBufferPromise } from "yauzl";

export async function collectStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface UnzippedEntry {
  name: string;
  data: Buffer;
  compressed: boolean;
}

/** Unpacks a zip with yauzl (an independent reader), entries in archive order. */
export async function unzip(zip: Buffer): Promise<UnzippedEntry[]> {
  const file = await fromBufferPromise(zip, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true });
  const entries: UnzippedEntry[] = [];
  for await (const entry of file.eachEntry()) {
    const data = await collectStream(await file.openReadStreamPromise(entry));
    // yauzl checks sizes but not checksums; a wrong CRC would make other unzip tools refuse the entry.
    if (crc32(data) !== entry.crc32) throw new Error(`CRC mismatch in zip entry ${entry.fileName}`);
    entries.push({ name: entry.fileName, data, compressed: entry.compressionMethod !== 0 });
  }
  return entries;
}
