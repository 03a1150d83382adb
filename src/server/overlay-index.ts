/**
 * Per-process cache of each book's overlay index for the reader endpoints (DESIGN 4.10): user → page →
 * content hash, labelled with the book's audit-chain sequence. A request uses the index as it is when it was
 * checked less than `freshMs` ago; otherwise it waits for one refresh — a single indexed query for the chain
 * entries after that sequence (plus the rows of the users they name) — shared by every request for the book
 * in the meantime. Processes share nothing but the journal: each one's index is at most `freshMs` (plus one
 * query) behind the database, whoever wrote. Bounded by the number of books kept.
 */
import { parseStoredPath } from "../paths/index.js";
import type { OverlayChanges, OverlayRow } from "../store/overlay-index.js";

/** Where the index comes from (the Store's overlayIndex / overlayChanges). */
export interface OverlayIndexSource {
  overlayIndex(bookId: string): Promise<{ seq: number; rows: OverlayRow[] }>;
  overlayChanges(bookId: string, afterSeq: number): Promise<OverlayChanges>;
}

export interface OverlayIndexOptions {
  /** How long a checked index is used without asking the journal again (default 250 ms). */
  freshMs?: number;
  /** Books kept, least recently used out first (default 256). */
  maxBooks?: number;
  /** Clock in ms (default performance.now). */
  now?: () => number;
}

export const DEFAULT_FRESH_MS = 250;

/** A user's pages: path → content hash. */
export type UserPages = ReadonlyMap<string, string>;

interface BookIndex {
  seq: number;
  users: Map<string, Map<string, string>>;
  /** When the query that made this index current started. */
  checkedAt: number;
}

const NONE: UserPages = new Map();

/** Pure: only markdown pages are served to readers (summaries and assets are not pages). */
export function isReaderPage(path: string): boolean {
  try {
    const p = parseStoredPath(path);
    return p.isContent && p.kind !== "summary";
  } catch {
    return false;
  }
}

/** Pure: puts the rows into the index, replacing the pages of every user in `replace`. */
export function applyRows(users: Map<string, Map<string, string>>, rows: readonly OverlayRow[], replace: Iterable<string> = []): void {
  for (const u of replace) users.delete(u);
  for (const r of rows) {
    if (!isReaderPage(r.path)) continue;
    let pages = users.get(r.userId);
    if (!pages) users.set(r.userId, (pages = new Map()));
    pages.set(r.path, r.sha256);
  }
}

export class OverlayIndexCache {
  private readonly books = new Map<string, BookIndex>();
  private readonly pending = new Map<string, Promise<BookIndex>>();
  private readonly freshMs: number;
  private readonly maxBooks: number;
  private readonly now: () => number;
  /** Journal round trips made (full loads and change checks), for tests and the bench. */
  queries = 0;

  constructor(
    private readonly source: OverlayIndexSource,
    o: OverlayIndexOptions = {},
  ) {
    this.freshMs = o.freshMs ?? DEFAULT_FRESH_MS;
    this.maxBooks = o.maxBooks ?? 256;
    this.now = o.now ?? (() => performance.now());
  }

  /** A change to the book went through this process: its next reader request checks the journal first. */
  touched(bookId: string): void {
    const have = this.books.get(bookId);
    if (have) have.checkedAt = -Infinity;
  }

  /** The pages where `userId` has an overlay in `bookId` (empty when none). */
  async pages(bookId: string, userId: string): Promise<UserPages> {
    const have = this.books.get(bookId);
    const index = have && this.now() - have.checkedAt < this.freshMs ? have : await this.refreshed(bookId, have);
    return index.users.get(userId) ?? NONE;
  }

  private refreshed(bookId: string, have: BookIndex | undefined): Promise<BookIndex> {
    let p = this.pending.get(bookId);
    if (!p) {
      p = this.refresh(bookId, have).finally(() => this.pending.delete(bookId));
      this.pending.set(bookId, p);
    }
    return p;
  }

  private async refresh(bookId: string, have: BookIndex | undefined): Promise<BookIndex> {
    const started = this.now();
    this.queries++;
    let next: BookIndex;
    if (!have) {
      const { seq, rows } = await this.source.overlayIndex(bookId);
      next = { seq, users: new Map(), checkedAt: started };
      applyRows(next.users, rows);
    } else {
      const changes = await this.source.overlayChanges(bookId, have.seq);
      next = have;
      if (changes.kind === "full") {
        next = { seq: changes.seq, users: new Map(), checkedAt: started };
        applyRows(next.users, changes.rows);
      } else if (changes.kind === "users") {
        applyRows(have.users, changes.rows, changes.users); // synchronous: no request sees it half-applied
        have.seq = changes.seq;
      }
      next.checkedAt = started;
    }
    this.books.delete(bookId);
    this.books.set(bookId, next);
    for (const key of this.books.keys()) {
      if (this.books.size <= this.maxBooks) break;
      this.books.delete(key);
    }
    return next;
  }
}
