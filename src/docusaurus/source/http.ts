/**
 * The HTTP book source: `pfs serve` with a bearer token that may read one book (and the overlays of the
 * build's users). The build holds that token and nothing else: no DATABASE_URL, no bucket keys.
 * Objects are streamed and verified against their hash, and the server's ETag and Repr-Digest must name
 * the same hash. Transient failures (network, 5xx, 429) of the plan are retried with the storage retry
 * policy (src/blobs/retry.ts); object fetches are retried by the loader, as for the direct source.
 */
import type { IncomingMessage } from "node:http";
import { PfsError, isPfsError } from "../../errors/index.js";
import { VerifyingStream } from "../../hashing/index.js";
import { retrying } from "../../blobs/retry.js";
import type { LoadPlan } from "../../store/plan.js";
import type { BookSource, LoadRequest, ObjectRequest, SourceSession } from "./types.js";
import { httpGetter } from "./http-get.js";

export interface HttpSourceOptions {
  /** Base URL of `pfs serve`, e.g. https://pfs.example.org */
  url: string;
  /** A token whose scope may read the book (tokens file entry with `books: [<book>]` and nothing else). */
  token: string;
  /** Plan request attempts, the first included (default 3). */
  attempts?: number;
}

/** RFC 9530 `Repr-Digest: sha-256=:<base64>:` → hex, or undefined when absent or another algorithm. */
export function hexFromReprDigest(header: string | string[] | null | undefined): string | undefined {
  if (Array.isArray(header)) header = header.join(",");
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

/** A (small) JSON body as text; a connection that breaks off mid-body is unreachable. */
async function text(res: IncomingMessage, origin: string): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  } catch (err) {
    throw new PfsError("JOURNAL_UNAVAILABLE", `pfs serve at ${origin} broke off the load plan: ${(err as Error).message}`, { url: origin }, { cause: err });
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function httpSource(options: HttpSourceOptions): BookSource {
  const base = options.url.replace(/\/+$/, "");
  const origin = new URL(base).origin; // never the token, never a path with secrets in messages
  const http = httpGetter(base, options.token);

  const session: SourceSession = {
    planLoad: (r) =>
      retrying(
        async () => JSON.parse(await text(await http.get(loadPlanUrl(base, r), "JOURNAL_UNAVAILABLE"), origin)) as LoadPlan,
        (err) => isPfsError(err, "JOURNAL_UNAVAILABLE"),
        { maxAttempts: options.attempts ?? 3 },
      ),
    async openObject(r) {
      const res = await http.get(objectUrl(base, r), "STORAGE_UNAVAILABLE");
      const etag = res.headers.etag?.replace(/^W\//, "").replace(/"/g, "");
      const digest = hexFromReprDigest(res.headers["repr-digest"]);
      if ((etag !== undefined && etag !== r.hash) || (digest !== undefined && digest !== r.hash)) {
        res.destroy();
        throw new PfsError("INTEGRITY_ERROR", `pfs serve at ${origin} answered object ${r.hash} with another one (ETag ${etag}, Repr-Digest ${digest}).`, { hash: r.hash });
      }
      const verifying = new VerifyingStream(r.hash);
      res.on("error", (err) => verifying.destroy(new PfsError("STORAGE_UNAVAILABLE", `pfs serve at ${origin} broke off object ${r.hash}: ${err.message}`, { hash: r.hash }, { cause: err })));
      // A consumer that gives up (or a failed verification) frees the connection instead of leaving it half-read.
      verifying.once("close", () => {
        if (!res.complete) res.destroy();
      });
      return res.pipe(verifying);
    },
  };

  return {
    kind: "http",
    description: `pfs serve at ${origin}`,
    session: (fn) => fn(session),
    close: async () => http.close(),
  };
}
