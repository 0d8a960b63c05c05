/**
 * Turns a stream of watcher events into occasional batches of dirty paths.
 *
 * Watcher events are hints, never operations to replay: a mark only says "something at or
 * below this path may differ from what was last seen", and the engine rescans every flushed
 * path to learn what is really there. So losing detail is always safe as long as the dirty
 * region only grows: collapsing many paths into a common ancestor (in the extreme, the
 * root "") trades precision for a bounded batch, never correctness.
 */
import { comparePaths, hasAncestorOrSelfIn, isSafeRelPath, isWithin, outermost, parentOf } from '../core/tree.ts';

export interface CollapseLimits {
  /** More than this many dirty entries directly inside one directory collapse into that directory. */
  readonly maxPerDir: number;
  /** More than this many dirty paths in total collapse into the root "". */
  readonly maxTotal: number;
}

/**
 * Reduces a set of dirty paths to an equivalent-or-wider one that is small:
 * duplicates removed, paths below a dirty ancestor folded into it, crowded directories
 * collapsed into themselves (repeatedly, so a collapse that crowds the parent collapses
 * again), and an over-long result replaced by the root. The result is sorted parents-first
 * ({@link comparePaths}) and no path in it lies within another, so every input path is
 * within exactly one output path.
 */
export function collapseDirtyPaths(paths: Iterable<string>, limits: CollapseLimits): string[] {
  const folded = new Set(outermost(paths));
  for (;;) {
    const crowded = crowdedDirectories(folded, limits.maxPerDir);
    if (crowded.length === 0) break;
    for (const dir of crowded) absorbInto(folded, dir);
  }
  if (folded.size > limits.maxTotal) return [''];
  return [...folded].sort(comparePaths);
}

/** Directories with more than `maxPerDir` dirty direct children. */
function crowdedDirectories(set: ReadonlySet<string>, maxPerDir: number): string[] {
  const counts = new Map<string, number>();
  for (const p of set) {
    if (p === '') continue;
    const parent = parentOf(p);
    counts.set(parent, (counts.get(parent) ?? 0) + 1);
  }
  const crowded: string[] = [];
  for (const [dir, n] of counts) if (n > maxPerDir) crowded.push(dir);
  return crowded;
}

/** Replaces `dir`'s descendants in the set by `dir` itself (no-op when an ancestor already covers it). */
function absorbInto(set: Set<string>, dir: string): void {
  if (hasAncestorOrSelfIn(set, dir) && !set.has(dir)) return;
  for (const p of set) if (isWithin(p, dir)) set.delete(p);
  set.add(dir);
}

export interface CoalescerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Monotonic milliseconds. */
  now(): number;
}

export interface DirtyPathCoalescerOptions {
  /** Flush once no mark has arrived for this long. Default 30. */
  quietMs?: number;
  /** Flush at the latest this long after the first mark of a batch, however busy. Default 300. */
  maxDelayMs?: number;
  /** See {@link CollapseLimits.maxPerDir}. Default 128. */
  maxPerDir?: number;
  /** See {@link CollapseLimits.maxTotal}. Default 512. */
  maxTotal?: number;
  /**
   * Receives each non-empty batch (collapsed, parents-first). Must not throw: it runs from
   * a timer. The coalescer's own state is reset before it is called, so a mark made from
   * inside it starts the next batch.
   */
  onFlush(paths: string[]): void;
  timers?: CoalescerTimers;
}

const realTimers: CoalescerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};

/**
 * Collects dirty paths and hands them out in batches.
 *
 * Invariants: the pending set never holds a path within another pending path, and never
 * grows past `maxTotal` + 1 entries (it collapses as it goes), so a storm of events costs
 * bounded memory. A batch is flushed `quietMs` after the last mark, or `maxDelayMs` after
 * its first mark, whichever comes first; while paused nothing is flushed by timer.
 */
export class DirtyPathCoalescer {
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #limits: CollapseLimits;
  readonly #onFlush: (paths: string[]) => void;
  readonly #timers: CoalescerTimers;
  #pending = new Set<string>();
  #firstMarkAt = 0;
  #timer: unknown = undefined;
  #paused = false;
  #disposed = false;

  constructor(options: DirtyPathCoalescerOptions) {
    this.#quietMs = options.quietMs ?? 30;
    this.#maxDelayMs = options.maxDelayMs ?? 300;
    this.#limits = { maxPerDir: options.maxPerDir ?? 128, maxTotal: options.maxTotal ?? 512 };
    this.#onFlush = options.onFlush;
    this.#timers = options.timers ?? realTimers;
  }

  /** Number of paths currently waiting (after collapsing so far). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Marks a relative POSIX path ('' = the root) dirty. A path that is not a safe relative
   * path (see tree.ts `isSafeRelPath`) marks the root instead: over-scanning is safe,
   * acting on a bad path is not. Ignored after {@link dispose}.
   */
  mark(relPath: string): void {
    if (this.#disposed) return;
    const path = isSafeRelPath(relPath) ? relPath : '';
    const now = this.#timers.now();
    if (this.#pending.size === 0) this.#firstMarkAt = now;
    if (!hasAncestorOrSelfIn(this.#pending, path)) {
      for (const p of this.#pending) if (isWithin(p, path)) this.#pending.delete(p);
      this.#pending.add(path);
      if (this.#pending.size > this.#limits.maxTotal) {
        this.#pending = new Set(collapseDirtyPaths(this.#pending, this.#limits));
      }
    }
    this.#schedule(now);
  }

  /** Flushes whatever is pending right now, paused or not. */
  flushNow(): void {
    this.#flush();
  }

  /** Holds timer-driven flushes; marks keep accumulating (collapsed). */
  pause(): void {
    this.#paused = true;
    this.#cancelTimer();
  }

  /** Ends a pause and immediately flushes what accumulated during it. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#flush();
  }

  /** Stops all timers and drops pending paths without flushing; later marks are ignored. */
  dispose(): void {
    this.#disposed = true;
    this.#cancelTimer();
    this.#pending.clear();
  }

  #schedule(now: number): void {
    if (this.#paused || this.#disposed) return;
    this.#cancelTimer();
    const due = Math.min(now + this.#quietMs, this.#firstMarkAt + this.#maxDelayMs);
    this.#timer = this.#timers.setTimeout(
      () => {
        this.#timer = undefined;
        this.#flush();
      },
      Math.max(0, due - now),
    );
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #flush(): void {
    this.#cancelTimer();
    if (this.#disposed || this.#pending.size === 0) return;
    const batch = collapseDirtyPaths(this.#pending, this.#limits);
    this.#pending = new Set();
    this.#onFlush(batch);
  }
}
