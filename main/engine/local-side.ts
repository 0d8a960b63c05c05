/**
 * The local side of one folder: its ignore rules, its watcher and the coalescer that turns
 * watcher events into batches of dirty paths, and scans of the folder. One local side feeds
 * the folder's target lanes; it never talks to a server.
 *
 * Watcher events are hints: they only mark paths dirty (`onDirty`), never operations to
 * replay. A change to `.ferryignore` asks for a full pass, which reloads the rules.
 *
 * A root given through a symbolic link (`~/www -> /data/www`, as rsync and lsyncd allow) is
 * resolved once, at first use (the first use after it exists, for a root missing at start):
 * the watcher and every scan work on the real directory. Each
 * scan checks that the link still leads there; when it no longer does (broken, pointing at a
 * file, re-pointed) the scan finds no root, so the pass halts on the missing-root rail, and
 * {@link LocalSide.rootLink} says what the link points to for the halt's message.
 *
 * The local side also keeps what its scans found in files and bytes ({@link LocalSide.totals},
 * the card's "1,234 files · 56 MB"): a full scan sets it, a scoped scan replaces what lies
 * within its scopes, at the cost of those scopes only (local-totals.ts).
 */
import { readlink, realpath, stat } from 'node:fs/promises';
import type { HaltReason } from '../core/plan.ts';
import { hashFile } from '../core/hash-file.ts';
import { DirtyPathCoalescer } from './coalescer.ts';
import { LocalTotalsCounter, type LocalTotals } from './local-totals.ts';

export type { LocalTotals } from './local-totals.ts';
import { FERRYIGNORE_NAME, createIgnoreMatcher, loadFerryignore, type IgnoreMatcher } from './ignore.ts';
import { localPathOf, scanLocal, type LocalScan } from './local-scan.ts';
import { watchFolder, type LocalWatcher, type WatcherError } from './watcher.ts';

/** Starts watching a folder: watcher.ts's {@link watchFolder}, or a test's stand-in. */
export type WatchFolder = typeof watchFolder;

export interface LocalSideEvents {
  /** A coalesced batch of paths at or below which something changed. */
  onDirty(paths: string[]): void;
  /** `.ferryignore` changed: the next pass must be a full one (it reloads the rules). */
  onIgnoreFileChanged(): void;
  /** The watcher stopped working; changes are found by periodic full passes from now on. */
  onWatcherFailed(message: string): void;
}

type RootLink = Omit<Extract<HaltReason, { kind: 'root-missing' }>, 'kind'>;

export class LocalSide {
  /** The root as configured (what the user gave, maybe a symbolic link). */
  readonly configuredRoot: string;
  #root: string;
  #resolved = false;
  /** Set by a scan that found no root: what the configured root's link points to, if it is one. */
  #rootLink: RootLink = {};
  readonly #patterns: readonly string[];
  readonly #events: LocalSideEvents;
  readonly #coalescer: DirtyPathCoalescer;
  #matcher: IgnoreMatcher = createIgnoreMatcher({});
  #watcher: LocalWatcher | undefined;
  readonly #watchFolder: WatchFolder;
  readonly #totals = new LocalTotalsCounter();

  /** `events.watchFolder`: what starts the watcher (a test passes a stand-in); watcher.ts's by default. */
  constructor(root: string, patterns: readonly string[], events: LocalSideEvents & { watchFolder?: WatchFolder }) {
    this.configuredRoot = root;
    this.#watchFolder = events.watchFolder ?? watchFolder;
    this.#root = root;
    this.#patterns = patterns;
    this.#events = events;
    this.#coalescer = new DirtyPathCoalescer({ onFlush: (paths) => events.onDirty(paths) });
  }

  /** The directory Ferry works on: the configured root with symbolic links resolved at first use. */
  get root(): string {
    return this.#root;
  }

  /** For a missing-root halt: the link the configured root is, and where it led at start if it moved. */
  rootLink(): RootLink {
    return this.#rootLink;
  }

  /** Resolves the root once it leads to a directory; until then it stays as configured (and scans halt on it). */
  async #resolve(): Promise<void> {
    if (this.#resolved) return;
    const real = await realpath(this.configuredRoot).catch(() => undefined);
    if (real === undefined || !(await isDirectory(real))) return;
    this.#root = real;
    this.#resolved = true;
  }

  /** The root is missing: if the configured root is a link, note where it points for the halt's message. */
  async #noteLink(): Promise<void> {
    const link = await readlink(this.configuredRoot).catch(() => undefined);
    if (link === undefined) return void (this.#rootLink = {});
    const now = await realpath(this.configuredRoot).catch(() => undefined);
    this.#rootLink = now !== undefined && (await isDirectory(now)) ? { link, linkWas: this.#root } : { link };
  }

  /** Reads the configured patterns and the folder's `.ferryignore` again. */
  async reloadIgnores(): Promise<void> {
    await this.#resolve();
    this.#matcher = createIgnoreMatcher({
      patterns: [...this.#patterns],
      ferryignoreText: await loadFerryignore(this.root),
    });
  }

  /** True for paths Ferry never syncs; the root itself is never ignored. */
  readonly ignores = (rel: string, isDir: boolean): boolean => rel !== '' && this.#matcher.ignores(rel, isDir);

  /**
   * Starts the watcher. Resolves once events are live, or with the reason watching is
   * unavailable (the caller falls back to periodic full passes).
   */
  async watch(): Promise<{ live: true } | { live: false; message: string }> {
    await this.#resolve();
    this.#watcher = this.#watchFolder(this.root, {
      onDirty: (rel) => {
        if (rel === FERRYIGNORE_NAME) this.#events.onIgnoreFileChanged();
        this.#coalescer.mark(rel);
      },
      onError: (err: WatcherError) =>
        this.#events.onWatcherFailed(err.fix ? `${err.message} Fix: ${err.fix}` : err.message),
      ignores: this.ignores,
    });
    try {
      await this.#watcher.start();
      return { live: true };
    } catch (err) {
      return { live: false, message: (err as Error).message };
    }
  }

  /** Scans below the real root, after checking that the configured root still leads to it. */
  async scan(scopes: readonly string[]): Promise<LocalScan> {
    await this.#resolve();
    const there =
      this.#root === this.configuredRoot || (await realpath(this.configuredRoot).catch(() => undefined)) === this.#root;
    const scan = there
      ? await scanLocal(this.#root, scopes, this.ignores)
      : { entries: new Map(), problems: [], skipped: [], blocked: [] };
    if (scan.entries.has('')) this.#rootLink = {};
    else await this.#noteLink();
    this.#totals.update(scopes, scan);
    return scan;
  }

  /** Files and bytes as of the latest scans; undefined before the first scan. */
  totals(): LocalTotals | undefined {
    return this.#totals.totals();
  }

  async hash(rel: string): Promise<string> {
    await this.#resolve();
    return hashFile(localPathOf(this.#root, rel));
  }

  /** Stops the coalescer at once (no batch after this) and the watcher (bounded, see LocalWatcher.close). */
  async close(): Promise<void> {
    this.#coalescer.dispose();
    await this.#watcher?.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}
