import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

/** s3rver's fixed development credentials. */
export const S3RVER_ACCESS_KEY = "S3RVER";
export const S3RVER_SECRET = "S3RVER";

const LAUNCHER = fileURLToPath(new URL("./s3rver-launcher.mjs", import.meta.url));

export interface S3rverProcess {
  endpoint: string;
  directory: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts s3rver as a child process on 127.0.0.1 with a free port and a temp folder. */
export async function startS3rver(): Promise<S3rverProcess> {
  const directory = await mkdtemp(join(tmpdir(), "pfs-s3rver-"));
  const child: ChildProcess = spawn(process.execPath, ["--openssl-legacy-provider", LAUNCHER, "--ephemeral", directory], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    child.once("exit", (code) => reject(new Error(`s3rver exited early (code ${code})`)));
    child.once("error", reject);
    lines.once("line", (line) => {
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch (err) {
        reject(err);
      }
    });
  });
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    pid: child.pid!,
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once("exit", () => resolve());
      });
      child.stdin?.end();
      const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(killer);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A new, empty bucket on the test server (each store under test gets its own). */
export async function createBucket(endpoint: string, name: string): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: "auto",
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
}
