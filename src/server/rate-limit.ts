/**
 * In-memory limits a server applies per token (agent) and in total. Pure state machines with an
 * injectable clock, so the decisions are tested without waiting.
 */

export interface BucketOptions {
  /** Calls allowed in a burst. */
  capacity: number;
  /** Calls regained per second. */
  refillPerSecond: number;
  /** Distinct keys remembered at most (the oldest full buckets are forgotten first). */
  maxKeys?: number;
  now?: () => number;
}

/** A token bucket per key: `take` spends one call, false when the key has none left. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: BucketOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  private level(key: string): { tokens: number; at: number } {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.opts.capacity, at: t };
    b.tokens = Math.min(this.opts.capacity, b.tokens + ((t - b.at) / 1000) * this.opts.refillPerSecond);
    b.at = t;
    this.buckets.delete(key); // re-inserted last: Map order is least recently used first
    this.buckets.set(key, b);
    this.forgetOldest();
    return b;
  }

  private forgetOldest(): void {
    const max = this.opts.maxKeys ?? 10_000;
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= max) break;
      this.buckets.delete(key);
    }
  }

  take(key: string): boolean {
    const b = this.level(key);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Whole seconds until `key` may call again (for Retry-After). */
  retryAfterSeconds(key: string): number {
    const b = this.level(key);
    return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / this.opts.refillPerSecond);
  }
}

/** At most `perKey` running at once for one key and `total` for all keys. */
export class ConcurrencyLimit {
  private readonly running = new Map<string, number>();
  private all = 0;

  constructor(
    readonly perKey: number,
    readonly total: number,
  ) {}

  /** A release function (call it exactly once; later calls do nothing), or why not. */
  acquire(key: string): { ok: true; release: () => void } | { ok: false; limit: "per-token" | "total" } {
    const mine = this.running.get(key) ?? 0;
    if (mine >= this.perKey) return { ok: false, limit: "per-token" };
    if (this.all >= this.total) return { ok: false, limit: "total" };
    this.running.set(key, mine + 1);
    this.all++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.all--;
      const left = (this.running.get(key) ?? 1) - 1;
      if (left <= 0) this.running.delete(key);
      else this.running.set(key, left);
    };
    return { ok: true, release };
  }

  get active(): number {
    return this.all;
  }
}
