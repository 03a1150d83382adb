/**
 * Connection hygiene for node:http: a request answered before its body was read must not keep its
 * socket (a client announcing a 1 GB body and trickling it would hold it until the request timeout),
 * and a client that drops its upload must end the store's write at once.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import { PfsError } from "../errors/index.js";

/**
 * Call before answering. When the request body has not been read to its end, the answer says
 * `Connection: close` and the socket is ended once the answer is flushed (and destroyed shortly after,
 * whatever the client still sends), so no byte more of the body is waited for.
 */
export function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse, lingerMs = 1000): void {
  if (req.complete || res.headersSent) return;
  res.setHeader("connection", "close");
  res.once("finish", () => {
    const socket = req.socket;
    req.unpipe();
    // Half-close first so the client reads the whole answer, then drop what it keeps sending.
    socket.end();
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  });
}

export const ABORTED_MESSAGE = "The client closed the connection before the request body ended; nothing was stored.";

/**
 * The request body as a stream the store can read. If the client goes away before the body ends, the
 * stream fails at once (so the store's write ends, its temp file or multipart upload is removed and the
 * attempt is audited); if the store stops reading early, the socket stays usable for the answer.
 */
export function requestBody(req: IncomingMessage): PassThrough {
  const body = new PassThrough();
  req.pipe(body);
  const onClose = () => {
    if (!req.complete && !body.destroyed) body.destroy(new PfsError("INVALID_CONTENT", ABORTED_MESSAGE));
  };
  req.once("close", onClose);
  body.once("close", () => req.off("close", onClose));
  return body;
}

/**
 * Destroys a response whose client has stopped reading: no byte has left for `stallMs` while the
 * response still has bytes to send. Its producer (an archive) then sees the close and frees what it holds.
 */
export function destroyWhenStalled(res: ServerResponse, stallMs: number): void {
  const socket = res.socket;
  if (!socket || stallMs <= 0) return;
  let last = socket.bytesWritten;
  let quietSince = performance.now();
  const timer = setInterval(() => {
    if (socket.bytesWritten !== last || !res.writableNeedDrain) {
      last = socket.bytesWritten;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= stallMs) {
      res.destroy();
    }
  }, Math.max(50, Math.min(5_000, stallMs / 4)));
  timer.unref();
  res.once("close", () => clearInterval(timer));
}
