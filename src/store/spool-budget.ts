/**
 * A process-wide budget of bytes on disk (archive spools): an acquire waits while the budget is spent,
 * except that one holder may always go (a single object larger than the budget still gets through alone).
 */
import { PfsError } from "../errors/index.js";

export class ByteBudget {
  private used = 0;
  private waiters = new Set<() => void>();

  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Waits for `bytes` of room; the returned release gives them back (once). Rejects when `signal` aborts. */
  async acquire(bytes: number, signal?: AbortSignal): Promise<() => void> {
    while (this.used > 0 && this.used + bytes > this.limit) {
      if (signal?.aborted) throw new PfsError("STORAGE_UNAVAILABLE", "The archive was stopped while waiting for spool space.");
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.waiters.add(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
    if (signal?.aborted) throw new PfsError("STORAGE_UNAVAILABLE", "The archive was stopped while waiting for spool space.");
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      [...this.waiters].forEach((wake) => wake());
    };
  }
}

/** Default for all archives of this process: PFS_ARCHIVE_SPOOL_BYTES, else 1 GiB. */
export const SPOOL_BUDGET = new ByteBudget(Number(process.env.PFS_ARCHIVE_SPOOL_BYTES) > 0 ? Number(process.env.PFS_ARCHIVE_SPOOL_BYTES) : 1024 ** 3);
