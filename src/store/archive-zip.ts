/**
 * The zip side of an archive (DESIGN 4.6): the yazl zip, its output stream, whether the reader left,
 * and adding one entry at a time with backpressure. Knows nothing of books or objects.
 */
import { Readable, type PassThrough } from "node:stream";
import { ZipFile } from "yazl";
import { useNativeCrc32ForYazl } from "./native-crc.js";

useNativeCrc32ForYazl();

/** A fixed date keeps archives of one manifest byte-identical (cacheable by manifest hash). */
const ENTRY_MTIME = new Date(Date.UTC(2000, 0, 1));
const CHUNK = 64 * 1024;

/** Serves a buffer in small chunks so backpressure applies inside one entry too. */
export function bufferStream(data: Buffer): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return void this.push(null);
      this.push(data.subarray(offset, offset + CHUNK));
      offset += CHUNK;
    },
  });
}

export class ArchiveZip {
  readonly zip = new ZipFile();
  readonly out = this.zip.outputStream as PassThrough;
  /** Aborted when the reader goes away: loads waiting on spool space or spooling stop. */
  private readonly stopped = new AbortController();
  private readonly abortWaiters = new Set<() => void>();
  private readonly zipFailed = new Promise<never>((_, reject) => this.zip.once("error", reject));
  private endedNormally = false;

  constructor() {
    this.zipFailed.catch(() => {});
    this.out.once("end", () => (this.endedNormally = true));
    // Closed before its end: the reader went away (or destroyed it); stop reading objects.
    this.out.once("close", () => {
      if (this.endedNormally) return;
      this.stopped.abort();
      this.abortWaiters.forEach((wake) => wake());
    });
  }

  get aborted(): boolean {
    return this.stopped.signal.aborted;
  }

  get signal(): AbortSignal {
    return this.stopped.signal;
  }

  /**
   * Adds one entry and waits until its bytes have gone into the zip stream (or the reader left).
   * yazl keeps every entry (and so this getter) until the central directory is written: the getter must
   * not keep the object's bytes reachable once the entry is done, or memory grows with the book.
   */
  addEntry(path: string, open: () => Readable, compress: boolean, size: number): Promise<void> {
    let opener: (() => Readable) | undefined = open;
    let stream: Readable | undefined;
    return Promise.race([
      this.zipFailed,
      new Promise<void>((resolve, reject) => {
        const finish = (err?: unknown) => {
          this.abortWaiters.delete(wake);
          opener = undefined;
          stream = undefined;
          if (err) reject(err);
          else resolve();
        };
        const wake = () => {
          stream?.destroy();
          finish();
        };
        this.abortWaiters.add(wake);
        this.zip.addReadStreamLazy(path, { mtime: ENTRY_MTIME, compress, size }, (cb) => {
          if (this.aborted || !opener) return finish();
          stream = opener();
          opener = undefined;
          stream.once("end", () => finish());
          stream.once("error", (err) => finish(err));
          cb(null, stream);
        });
      }),
    ]);
  }

  /** Adds a small in-memory entry (errors.json, manifest.json), deflated. */
  addBuffer(path: string, body: Buffer): Promise<void> {
    return this.addEntry(path, () => bufferStream(body), true, body.length);
  }

  /** Writes the central directory and waits until the output stream has closed (or the zip failed). */
  async end(): Promise<void> {
    const ended = new Promise<void>((resolve) => this.out.once("close", resolve));
    this.zip.end();
    await Promise.race([this.zipFailed, ended]);
  }
}
