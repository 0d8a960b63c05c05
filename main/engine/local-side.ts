/**
 * The local side of one folder: its ignore rules, its watcher and the coalescer that turns
 * watcher events into batches of dirty paths, and scans of the folder. One local side feeds
 * the folder's target lanes; it never talks to a server.
 *
 * Watcher events are hints: they only mark paths dirty (`onDirty`), never operations to
 * replay. A change to `.ferryignore` asks for a full pass, which reloads the rules.
 */
import { hashFile } from '../core/hash-file.ts';
import { DirtyPathCoalescer } from './coalescer.ts';
import { FERRYIGNORE_NAME, createIgnoreMatcher, loadFerryignore, type IgnoreMatcher } from './ignore.ts';
import { localPathOf, scanLocal, type LocalScan } from './local-scan.ts';
import { watchFolder, type LocalWatcher, type WatcherError } from './watcher.ts';

export interface LocalSideEvents {
  /** A coalesced batch of paths at or below which something changed. */
  onDirty(paths: string[]): void;
  /** `.ferryignore` changed: the next pass must be a full one (it reloads the rules). */
  onIgnoreFileChanged(): void;
  /** The watcher stopped working; changes are found by periodic full passes from now on. */
  onWatcherFailed(message: string): void;
}

export class LocalSide {
  readonly root: string;
  readonly #patterns: readonly string[];
  readonly #events: LocalSideEvents;
  readonly #coalescer: DirtyPathCoalescer;
  #matcher: IgnoreMatcher = createIgnoreMatcher({});
  #watcher: LocalWatcher | undefined;

  constructor(root: string, patterns: readonly string[], events: LocalSideEvents) {
    this.root = root;
    this.#patterns = patterns;
    this.#events = events;
    this.#coalescer = new DirtyPathCoalescer({ onFlush: (paths) => events.onDirty(paths) });
  }

  /** Reads the configured patterns and the folder's `.ferryignore` again. */
  async reloadIgnores(): Promise<void> {
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
    this.#watcher = watchFolder(this.root, {
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

  scan(scopes: readonly string[]): Promise<LocalScan> {
    return scanLocal(this.root, scopes, this.ignores);
  }

  hash(rel: string): Promise<string> {
    return hashFile(localPathOf(this.root, rel));
  }

  /** Stops the coalescer at once (no batch after this) and the watcher (bounded, see LocalWatcher.close). */
  async close(): Promise<void> {
    this.#coalescer.dispose();
    await this.#watcher?.close();
  }
}
