/**
 * A writer process that dies with SIGKILL right after its object reached storage and before the
 * journal transaction (fault injection: a storage wrapper in this process, nothing in production code).
 * Env: PFS_WORKER_OPTIONS (openStore options as JSON), PFS_CRASH_WRITE (write input as JSON).
 */
import { openStore, type StoreOptions } from "../../src/index.js";
import { BlobStore, OBJECTS_PREFIX, type ObjectStorage } from "../../src/blobs/index.js";
import { writeFile, type WriteInput } from "../../src/store/mutations.js";

function killAfterObjectStored(inner: ObjectStorage): ObjectStorage {
  const die = (key: string) => {
    if (key.startsWith(OBJECTS_PREFIX)) process.kill(process.pid, "SIGKILL");
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "putBuffer") return async (key: string, body: Buffer) => (await target.putBuffer(key, body), die(key));
      if (prop === "move") return async (from: string, to: string) => (await target.move(from, to), die(to));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const options = JSON.parse(process.env.PFS_WORKER_OPTIONS!) as StoreOptions;
const input = JSON.parse(process.env.PFS_CRASH_WRITE!) as WriteInput;
const store = await openStore(options);
const ctx = { ...store.ctx, blobs: new BlobStore(killAfterObjectStored(store.ctx.blobs.storage)) };
await writeFile(ctx, input);
// Reaching this line means the hook never fired: the parent sees a normal exit and fails the test.
await store.close();
