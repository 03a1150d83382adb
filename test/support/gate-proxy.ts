/**
 * An HTTP proxy that holds the first request a test picks until the test opens the gate: a pause
 * injected from outside the process under test (no test hooks in src/). Everything else is forwarded.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface GateProxy {
  url: string;
  /** Settles when a request matching the predicate arrived and is being held. */
  held: Promise<void>;
  /** Forwards the held request (and everything after it). */
  open(): void;
  close(): Promise<void>;
}

export async function startGateProxy(target: string, hold: (req: IncomingMessage) => boolean): Promise<GateProxy> {
  const upstream = new URL(target);
  let opened = false;
  let holding = false;
  let signalHeld!: () => void;
  const held = new Promise<void>((resolve) => (signalHeld = resolve));
  const waiting: (() => void)[] = [];
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  };
  const server = createServer((req, res) => {
    if (!opened && !holding && hold(req)) {
      holding = true;
      req.pause();
      waiting.push(() => forward(req, res));
      signalHeld();
      return;
    }
    if (!opened && holding) return void waiting.push(() => forward(req, res));
    forward(req, res);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    open() {
      opened = true;
      for (const go of waiting.splice(0)) go();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
