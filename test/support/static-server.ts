/**
 * A tiny static file server for built sites (tests only): serves a folder on 127.0.0.1 at a free port,
 * resolving `/a/b` to `a/b`, `a/b.html` or `a/b/index.html` the way static hosts serving Docusaurus do.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".xml": "application/xml",
  ".txt": "text/plain; charset=utf-8",
};

export interface StaticServer {
  url: string;
  /** Paths requested that were not found (handy in assertions). */
  notFound: string[];
  close(): Promise<void>;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function serveStatic(root: string): Promise<StaticServer> {
  const base = resolve(root);
  const notFound: string[] = [];
  const server: Server = createServer(async (req, res) => {
    try {
      const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      const target = resolve(join(base, pathname));
      if (target !== base && !target.startsWith(base + sep)) {
        res.writeHead(403).end();
        return;
      }
      const candidates = pathname.endsWith("/") ? [join(target, "index.html")] : [target, `${target}.html`, join(target, "index.html")];
      for (const file of candidates) {
        if (await isFile(file)) {
          res.writeHead(200, { "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream", "cache-control": "no-store" });
          if (req.method === "HEAD") res.end();
          else createReadStream(file).pipe(res);
          return;
        }
      }
      notFound.push(pathname);
      const page404 = join(base, "404.html");
      res.writeHead(404, { "content-type": "text/html; charset=utf-8" });
      if (await isFile(page404)) createReadStream(page404).pipe(res);
      else res.end("not found");
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    notFound,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
