import { createReadStream } from "node:fs";
import { link, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { PfsError } from "../errors/index.js";
import { TEMP_FILE, tempFileFor, writeFileAtomic, type AtomicContent } from "../fsutil/index.js";
import type { IncompleteUpload, ObjectInfo, ObjectStorage } from "./types.js";

/** `<target>.<uuid>.tmp`: where `atomically` writes before the rename. Only these are ours to clean up. */
const PARTIAL_FILE = TEMP_FILE;

function storageError(op: string, key: string, err: unknown): PfsError {
  const code = (err as NodeJS.ErrnoException)?.code;
  return new PfsError("STORAGE_UNAVAILABLE", `Local storage could not ${op} "${key}": ${code ?? String(err)}`, { key }, { cause: err });
}

/** Overlays are private: folders this store creates are 0700 and files 0600 (the umask can only remove bits). */
const PRIVATE_DIR = { recursive: true, mode: 0o700 } as const;
const PRIVATE_FILE = 0o600;
const PRIVATE_MODES = { fileMode: PRIVATE_FILE, dirMode: PRIVATE_DIR.mode };

/** Objects as files in a folder. Writes go to a temp file and are renamed into place (atomic). */
export class LocalObjectStorage implements ObjectStorage {
  readonly kind = "local" as const;
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `local folder ${root}`;
  }

  private file(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.file(key));
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw storageError("stat", key, err);
    }
  }

  /** The temp name matches PARTIAL_FILE, so a writer's death leaves something gc finds. */
  private async atomically(key: string, content: AtomicContent): Promise<void> {
    try {
      await writeFileAtomic(this.file(key), content, PRIVATE_MODES);
    } catch (err) {
      throw err instanceof PfsError ? err : storageError("write", key, err);
    }
  }

  putBuffer(key: string, body: Buffer): Promise<void> {
    return this.atomically(key, body);
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    const target = this.file(key);
    const tmp = tempFileFor(target);
    try {
      await mkdir(dirname(target), PRIVATE_DIR);
      await writeFile(tmp, body, { flag: "wx", mode: PRIVATE_FILE });
      // link(2) fails with EEXIST instead of replacing: the complete file appears in one step or not at all.
      await link(tmp, target);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw storageError("write", key, err);
    } finally {
      await rm(tmp, { force: true }).catch(() => {});
    }
  }

  putStream(key: string, body: Readable): Promise<void> {
    return this.atomically(key, body);
  }

  async getStream(key: string): Promise<Readable> {
    const info = await this.head(key);
    if (!info) throw new PfsError("NOT_FOUND", `Object "${key}" does not exist in ${this.description}.`, { key });
    return createReadStream(this.file(key));
  }

  async move(fromKey: string, toKey: string): Promise<void> {
    try {
      await mkdir(dirname(this.file(toKey)), PRIVATE_DIR);
      await rename(this.file(fromKey), this.file(toKey));
    } catch (err) {
      throw storageError("move", fromKey, err);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.file(key), { force: true });
    } catch (err) {
      throw storageError("delete", key, err);
    }
  }

  async *listIncomplete(): AsyncIterable<IncompleteUpload> {
    let names: string[];
    try {
      names = await readdir(this.root, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw storageError("list", "", err);
    }
    for (const name of names.filter((n) => PARTIAL_FILE.test(n)).sort()) {
      const s = await stat(join(this.root, name)).catch(() => null); // finished (renamed) meanwhile: skip
      if (s?.isFile()) yield { kind: "partial-file", key: name.split(sep).join("/"), size: s.size, lastModified: s.mtime };
    }
  }

  async abortIncomplete(upload: IncompleteUpload): Promise<void> {
    if (upload.kind !== "partial-file" || !PARTIAL_FILE.test(upload.key)) {
      throw new PfsError("INVALID_ARGUMENT", `Not an unfinished local upload: ${JSON.stringify(upload.key)}.`, { key: upload.key });
    }
    await this.delete(upload.key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk only the folder the prefix points into; filter the rest by string prefix.
    const dirPart = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const start = dirPart ? this.file(dirPart) : this.root;
    let names: string[];
    try {
      names = await readdir(start, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw storageError("list", prefix, err);
    }
    const found: ObjectInfo[] = [];
    for (const name of names) {
      const full = join(start, name);
      const key = relative(this.root, full).split(sep).join("/");
      if (name.endsWith(".tmp") || !key.startsWith(prefix)) continue;
      const s = await stat(full).catch(() => null);
      if (s?.isFile()) found.push({ key, size: s.size, lastModified: s.mtime });
    }
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* found;
  }

  async close(): Promise<void> {}
}
