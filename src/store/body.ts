import { isUtf8 } from "node:buffer";
import { Readable } from "node:stream";
import { PfsError } from "../errors/index.js";

export type Content = Buffer | Uint8Array | string | Readable;

/** Strings are UTF-8 encoded; bytes are kept exactly as given (never trimmed or re-encoded). */
export function toBuffer(content: Buffer | Uint8Array | string): Buffer {
  if (typeof content === "string") return Buffer.from(content, "utf8");
  return Buffer.isBuffer(content) ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}

export function isStream(content: unknown): content is Readable {
  return content instanceof Readable || (typeof content === "object" && content !== null && typeof (content as Readable).pipe === "function");
}

export function assertContent(content: unknown): asserts content is Content {
  if (typeof content === "string" || content instanceof Uint8Array || isStream(content)) return;
  throw new PfsError("INVALID_CONTENT", "content must be a string, a Buffer/Uint8Array or a readable stream.");
}

/** Reads a stream into memory, failing as soon as it passes maxBytes. */
export async function collect(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = toBuffer(chunk as Buffer | string);
    size += buf.length;
    if (size > maxBytes) {
      stream.destroy();
      throw tooLarge(maxBytes, "markdown");
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function tooLarge(maxBytes: number, what: string): PfsError {
  return new PfsError("INVALID_CONTENT", `The ${what} body is larger than the limit of ${maxBytes} bytes.`, { maxBytes });
}

export function assertMarkdown(bytes: Buffer, path: string): void {
  if (!isUtf8(bytes)) {
    throw new PfsError("INVALID_CONTENT", `"${path}" is markdown but its bytes are not valid UTF-8.`, { path });
  }
}
