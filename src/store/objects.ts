/**
 * Objects by hash for readers that already hold a plan (the Docusaurus plugin's book sources): the
 * bytes come verified, and a caller scoped to one book gets only objects that book references.
 */
import type { Readable } from "node:stream";
import { PfsError } from "../errors/index.js";
import { isSha256Hex, VerifyingStream } from "../hashing/index.js";
import { assertBookId, assertUserId } from "../paths/index.js";
import type { StoreContext } from "./context.js";
import { referencedSize } from "./object-refs.js";

export interface ObjectInput {
  hash: string;
  /** When given, the object must be referenced by this book's base or by an overlay of `users`. */
  bookId?: string;
  /** Whose overlays count as references ("*": anyone's; default: none, only the base). */
  users?: "*" | readonly string[];
}

export interface OpenedObject {
  /** Ends only when the bytes hash to `hash`; errors with INTEGRITY_ERROR otherwise. */
  stream: Readable;
  /** Known when the book reference was checked (the journal's size). */
  size?: number;
}

function assertHash(hash: unknown): asserts hash is string {
  if (!isSha256Hex(hash)) throw new PfsError("INVALID_ARGUMENT", `An object hash must be a lowercase hex SHA-256 (64 characters); got ${JSON.stringify(String(hash).slice(0, 80))}.`);
}

export async function openObjectOp(ctx: StoreContext, input: ObjectInput): Promise<OpenedObject> {
  assertHash(input.hash);
  let size: number | undefined;
  if (input.bookId !== undefined) {
    assertBookId(input.bookId);
    const users = input.users ?? [];
    if (users !== "*") for (const u of users) assertUserId(u);
    // Concurrent requests for one book share one journal query (object-refs.ts), never a cached answer.
    const found = await referencedSize(ctx, input.bookId, users, input.hash);
    // The same answer whether the object exists elsewhere or not at all: nothing about other books leaks.
    if (found === null) throw new PfsError("NOT_FOUND", `Book ${input.bookId} has no file with object ${input.hash}.`, { hash: input.hash });
    size = found;
  }
  const body = await ctx.blobs.get(input.hash);
  const verifying = new VerifyingStream(input.hash);
  body.on("error", (err) => verifying.destroy(err));
  return { stream: body.pipe(verifying), size };
}
