/**
 * An HTTP proxy between the S3 client and the test server that fails a chosen fraction of
 * requests the way real object stores and networks do: 503, 500, 429, a dropped connection,
 * or a slow response. A failed request never reaches the server, so a fault never half-applies.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Fault = "503" | "500" | "429" | "drop" | "slow";

export const ALL_FAULTS: Fault[] = ["503", "500", "429", "drop", "slow"];

export interface FaultProxyOptions {
  /** Fraction of requests to fail, 0–1. */
  rate?: number;
  /** Which faults to pick from (uniformly). */
  faults?: Fault[];
  /** Delay of a "slow" response before it is forwarded. */
  slowMs?: number;
  /** Deterministic runs: a seeded generator (default Math.random). */
  random?: () => number;
}

export interface FaultProxy {
  url: string;
  /** Requests seen, and faults injected by kind. */
  readonly stats: { requests: number; forwarded: number; faults: Record<Fault, number> };
  set(options: FaultProxyOptions): void;
  close(): Promise<void>;
}

const ERROR_BODIES: Record<"503" | "500" | "429", { status: number; code: string; message: string }> = {
  "503": { status: 503, code: "ServiceUnavailable", message: "Please reduce your request rate." },
  "500": { status: 500, code: "InternalError", message: "We encountered an internal error. Please try again." },
  "429": { status: 429, code: "SlowDown", message: "Please reduce your request rate." },
};

/** A small seeded generator (mulberry32) so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(target: string, initial: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  let opts: Required<FaultProxyOptions> = { rate: 0, faults: ALL_FAULTS, slowMs: 300, random: Math.random, ...initial };
  const stats = { requests: 0, forwarded: 0, faults: { "503": 0, "500": 0, "429": 0, drop: 0, slow: 0 } as Record<Fault, number> };
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    stats.forwarded++;
    const up = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  };

  const fail = (fault: "503" | "500" | "429", req: IncomingMessage, res: ServerResponse) => {
    const { status, code, message } = ERROR_BODIES[fault];
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    // Read the request body first, as a real server would, so the client sees a clean answer.
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-type": "application/xml", "content-length": req.method === "HEAD" ? 0 : Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    });
  };

  const server: Server = createServer((req, res) => {
    stats.requests++;
    const fault = opts.random() < opts.rate ? opts.faults[Math.floor(opts.random() * opts.faults.length)] : undefined;
    if (!fault) return forward(req, res);
    stats.faults[fault]++;
    if (fault === "drop") {
      req.socket.destroy();
      return;
    }
    if (fault === "slow") {
      const timer = setTimeout(() => forward(req, res), opts.slowMs);
      req.socket.once("close", () => clearTimeout(timer));
      return;
    }
    fail(fault, req, res);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    set(next) {
      opts = { ...opts, ...next };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
