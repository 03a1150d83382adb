/**
 * The HTTP book source: `pfs serve` with a bearer token that may read one book (and the overlays of the
 * build's users). The build holds that token and nothing else: no DATABASE_URL, no bucket keys.
 * Objects are streamed and verified against their hash, and the server's ETag and Repr-Digest must name
 * the same hash. Transient failures (network, 5xx, 429) of the plan are retried with the storage retry
 * policy (src/blobs/retry.ts); object fetches are retried by the loader, as for the direct source.
 */
import { Readable } from "node:stream";
import { PfsError, isPfsError, ERROR_CODES, type ErrorCode } from "../../errors/index.js";
import { VerifyingStream } from "../../hashing/index.js";
import { retrying } from "../../blobs/retry.js";
import type { LoadPlan } from "../../store/plan.js";
import type { BookSource, LoadRequest, ObjectRequest, SourceSession } from "./types.js";

export interface HttpSourceOptions {
  /** Base URL of `pfs serve`, e.g. https://pfs.example.org */
  url: string;
  /** A token whose scope may read the book (tokens file entry with `books: [<book>]` and nothing else). */
  token: string;
  /** Plan request attempts, the first included (default 3). */
  attempts?: number;
}

/** RFC 9530 `Repr-Digest: sha-256=:<base64>:` → hex, or undefined when absent or another algorithm. */
export function hexFromReprDigest(header: string | null): string | undefined {
  const m = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):/.exec(header ?? "");
  return m ? Buffer.from(m[1]!, "base64").toString("hex") : undefined;
}

/** The query part shared by both routes: the users whose overlays the build reads. */
function usersQuery(userIds: string[]): string {
  return userIds.length ? `users=${userIds.map(encodeURIComponent).join(",")}` : "";
}

export function loadPlanUrl(base: string, r: LoadRequest): string {
  const q = [r.targetManifestHash ? `target=${r.targetManifestHash}` : "", usersQuery(r.userIds)].filter(Boolean).join("&");
  return `${base}/v1/books/${encodeURIComponent(r.bookId)}/load-plan${q ? `?${q}` : ""}`;
}

export function objectUrl(base: string, r: ObjectRequest): string {
  const q = usersQuery(r.userIds);
  return `${base}/v1/books/${encodeURIComponent(r.bookId)}/objects/${r.hash}${q ? `?${q}` : ""}`;
}

/** Transient HTTP answers: worth another attempt. */
function transientStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

export function httpSource(options: HttpSourceOptions): BookSource {
  const base = options.url.replace(/\/+$/, "");
  const origin = new URL(base).origin; // never the token, never a path with secrets in messages
  const headers = { authorization: `Bearer ${options.token}` };

  /** GET with our token; failures become PfsErrors (`unreachable` names which side could not be reached). */
  async function get(url: string, unreachable: ErrorCode): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { headers });
    } catch (err) {
      const why = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
      throw new PfsError(unreachable, `pfs serve at ${origin} is unreachable: ${why}`, { url: origin }, { cause: err });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let body: { error?: { code?: string; message?: string } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not our JSON (a proxy's page): the status says enough
    }
    // 5xx and 429 mean "later" (offline: "use-cache" may apply); otherwise the server's own code (403, 404, 400…).
    const known = (ERROR_CODES as readonly string[]).includes(body.error?.code ?? "") ? (body.error!.code as ErrorCode) : "INVALID_ARGUMENT";
    throw new PfsError(transientStatus(res.status) ? unreachable : known, `pfs serve at ${origin} answered ${res.status}: ${body.error?.message ?? (text.slice(0, 200) || res.statusText)}`, { status: res.status, url: origin });
  }

  const session: SourceSession = {
    planLoad: (r) =>
      retrying(
        async () => (await (await get(loadPlanUrl(base, r), "JOURNAL_UNAVAILABLE")).json()) as LoadPlan,
        (err) => isPfsError(err, "JOURNAL_UNAVAILABLE"),
        { maxAttempts: options.attempts ?? 3 },
      ),
    async openObject(r) {
      const res = await get(objectUrl(base, r), "STORAGE_UNAVAILABLE");
      const etag = res.headers.get("etag")?.replace(/^W\//, "").replace(/"/g, "");
      const digest = hexFromReprDigest(res.headers.get("repr-digest"));
      if ((etag !== undefined && etag !== r.hash) || (digest !== undefined && digest !== r.hash) || !res.body) {
        await res.body?.cancel().catch(() => {});
        throw new PfsError("INTEGRITY_ERROR", `pfs serve at ${origin} answered object ${r.hash} with another one (ETag ${etag}, Repr-Digest ${digest}).`, { hash: r.hash });
      }
      const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
      const verifying = new VerifyingStream(r.hash);
      body.on("error", (err) => verifying.destroy(new PfsError("STORAGE_UNAVAILABLE", `pfs serve at ${origin} broke off object ${r.hash}: ${err.message}`, { hash: r.hash }, { cause: err })));
      return body.pipe(verifying);
    },
  };

  return {
    kind: "http",
    description: `pfs serve at ${origin}`,
    session: (fn) => fn(session),
    close: async () => {},
  };
}
