/**
 * GET against `pfs serve` with node:http(s) and one keep-alive agent per source: a cold load makes one
 * request per object, and `fetch` (undici with WHATWG Request/Response/Headers objects and a Web
 * stream per body) cost several times the CPU of the whole direct load (docs/RELIABILITY.md, issue 15).
 * Failures become PfsErrors; messages name the server's origin, never the token or a path.
 */
import http from "node:http";
import https from "node:https";
import { PfsError, ERROR_CODES, type ErrorCode } from "../../errors/index.js";

/** No byte for this long (headers or body) ends the request as unreachable (undici's default for both). */
const IDLE_TIMEOUT_MS = 300_000;
/** An error body is read only this far (a proxy's page can be large). */
const ERROR_BODY_LIMIT = 64 * 1024;

export interface HttpGetter {
  /**
   * The response of a 2xx GET, body unread. Not reachable, broken off, 5xx or 429: `unreachable`;
   * other statuses: the server's own error code (403, 404, 400…).
   */
  get(url: string, unreachable: ErrorCode): Promise<http.IncomingMessage>;
  close(): void;
}

/** Transient HTTP answers: worth another attempt. */
function transientStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

async function readLimited(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < ERROR_BODY_LIMIT) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, ERROR_BODY_LIMIT).toString("utf8");
}

/** The PfsError for a non-2xx answer, from the server's JSON error when it sent one. */
export function statusError(status: number, statusText: string, text: string, origin: string, unreachable: ErrorCode): PfsError {
  let body: { error?: { code?: string; message?: string } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not our JSON (a proxy's page): the status says enough
  }
  // 5xx and 429 mean "later" (offline: "use-cache" may apply); otherwise the server's own code (403, 404, 400…).
  const known = (ERROR_CODES as readonly string[]).includes(body.error?.code ?? "") ? (body.error!.code as ErrorCode) : "INVALID_ARGUMENT";
  return new PfsError(transientStatus(status) ? unreachable : known, `pfs serve at ${origin} answered ${status}: ${body.error?.message ?? (text.slice(0, 200) || statusText)}`, { status, url: origin });
}

export function httpGetter(base: string, token: string): HttpGetter {
  const origin = new URL(base).origin;
  const secure = new URL(base).protocol === "https:";
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const headers = { authorization: `Bearer ${token}` };
  const unreachableError = (err: Error, unreachable: ErrorCode) =>
    new PfsError(unreachable, `pfs serve at ${origin} is unreachable: ${err.message}`, { url: origin }, { cause: err });

  return {
    get: (url, unreachable) =>
      new Promise((resolve, reject) => {
        const req = (secure ? https : http).get(url, { agent, headers }, (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(res);
          readLimited(res).then(
            (text) => reject(statusError(status, res.statusMessage ?? "", text, origin, unreachable)),
            (err: Error) => reject(unreachableError(err, unreachable)),
          );
        });
        req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s`)));
        // Before the response: the request failed (refused, reset, timed out). After it, the body's consumer sees errors.
        req.on("error", (err) => reject(unreachableError(err, unreachable)));
      }),
    close: () => agent.destroy(),
  };
}
