/**
 * FAKE, for what s3rver cannot do: s3rver answers ListMultipartUploads with 501 NotImplemented and
 * AbortMultipartUpload with 405. This proxy sits between the S3 client and s3rver, forwards every
 * request, and keeps its own ledger of multipart uploads (from the real CreateMultipartUpload and
 * CompleteMultipartUpload responses) so it can answer those two calls the way S3 and R2 do.
 * Everything else (the uploads and parts themselves) is the real s3rver.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LedgerUpload {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: Date;
}

export interface MultipartLedgerProxy {
  url: string;
  /** Uploads created and neither completed nor aborted. */
  readonly open: LedgerUpload[];
  /** Upload ids aborted through the proxy. */
  readonly aborted: string[];
  close(): Promise<void>;
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Path-style URL → bucket and key (decoded). */
function target(url: URL): { bucket: string; key: string } {
  const [, bucket = "", ...rest] = url.pathname.split("/");
  return { bucket: decodeURIComponent(bucket), key: rest.map(decodeURIComponent).join("/") };
}

export async function startMultipartLedgerProxy(upstreamUrl: string): Promise<MultipartLedgerProxy> {
  const upstream = new URL(upstreamUrl);
  let open: LedgerUpload[] = [];
  const aborted: string[] = [];

  const forward = (req: IncomingMessage, res: ServerResponse, onBody?: (status: number, body: string) => void) => {
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      if (!onBody) {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      upRes.on("data", (c: Buffer) => chunks.push(c));
      upRes.on("end", () => {
        const body = Buffer.concat(chunks);
        onBody(upRes.statusCode ?? 502, body.toString("utf8"));
        res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, "content-length": body.length });
        res.end(body);
      });
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  };

  const answer = (res: ServerResponse, status: number, body = "") => {
    res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const { bucket, key } = target(url);
    const q = url.searchParams;
    if (req.method === "GET" && q.has("uploads") && key === "") {
      // ListMultipartUploads (s3rver: 501).
      const prefix = q.get("prefix") ?? "";
      const uploads = open.filter((u) => u.bucket === bucket && u.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      req.resume();
      const items = uploads
        .map((u) => `<Upload><Key>${xml(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`)
        .join("");
      return answer(
        res,
        200,
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket>` +
          `<Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${items}</ListMultipartUploadsResult>`,
      );
    }
    if (req.method === "DELETE" && q.has("uploadId")) {
      // AbortMultipartUpload (s3rver: 405).
      const uploadId = q.get("uploadId")!;
      req.resume();
      const known = open.some((u) => u.uploadId === uploadId && u.bucket === bucket && u.key === key);
      if (!known) return answer(res, 404, `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`);
      open = open.filter((u) => u.uploadId !== uploadId);
      aborted.push(uploadId);
      return answer(res, 204);
    }
    if (req.method === "POST" && q.has("uploads")) {
      return forward(req, res, (status, body) => {
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(body)?.[1];
        if (status === 200 && id) open.push({ bucket, key, uploadId: id, initiated: new Date() });
      });
    }
    if (req.method === "POST" && q.has("uploadId")) {
      const uploadId = q.get("uploadId")!;
      return forward(req, res, (status) => {
        if (status === 200) open = open.filter((u) => u.uploadId !== uploadId);
      });
    }
    forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get open() {
      return [...open];
    },
    aborted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
