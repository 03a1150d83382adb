/**
 * `pfs serve` for one book in a process of its own (bench/sources.ts forks it): the build and the server
 * do not share an event loop, as in CI. Talks to its parent over the IPC channel: it sends
 * { url } when listening, answers "gets" with { gets, cpu } (GETs so far, CPU ms so far), and closes on "close".
 */
import { openStore, type StoreOptions } from "../src/index.js";
import { startSourceServer } from "../test/support/source-server.js";
import { slowLocalStorage } from "./slow-storage.js";

export interface SourceServerConfig {
  storeOptions: StoreOptions;
  bookId: string;
  token: string;
  latencyMs: number;
}

const config = JSON.parse(process.env.PFS_BENCH_SOURCE_SERVER ?? "null") as SourceServerConfig | null;
if (!config || !process.send) throw new Error("bench/source-server.ts is forked by bench/sources.ts");
const slow = slowLocalStorage(config.latencyMs);
const store = await openStore(config.storeOptions);
const server = await startSourceServer(store, [{ agent: "bench-ci", token: config.token, books: [config.bookId] }]);
process.on("message", (m) => {
  if (m === "gets") {
    const cpu = process.cpuUsage();
    process.send!({ gets: slow.gets(), cpu: (cpu.user + cpu.system) / 1000 });
  }
  if (m === "close") void server.close().then(() => store.close()).then(() => process.exit(0));
});
process.send({ url: server.url });
