/**
 * One local scan feeds every target lane of a folder. The lanes of a folder run their own
 * loops (a slow or unreachable server never holds the others back), but they are woken by
 * the same watcher batches, so they ask for the same scopes at about the same time: the
 * first asks the local side, the others get a copy of that scan.
 *
 * A scan is shared only when it can stand for a fresh one: the same scopes, no watcher batch
 * (and no `.ferryignore` change) since it started, started at most {@link SHARE_WINDOW_MS}
 * ago, and never twice with the same lane (a lane's next pass always sees the folder anew:
 * a change the coalescer has not reported yet must not hide behind its previous scan) (a bound for what no watcher reports: a polling folder, a
 * missed event). Every watcher batch moves the {@link SharedScans.generation} on, and the
 * lanes that receive it rescan anyway. A lane with scopes of its own (a retry, a path
 * changed mid-upload, a reconnect's full pass long after the others') scans by itself.
 */
import type { LocalScan } from './local-scan.ts';
import type { LocalSide } from './local-side.ts';

export const SHARE_WINDOW_MS = 2000;

interface Recent {
  key: string;
  generation: number;
  startedAt: number;
  scan: Promise<LocalScan>;
  /** The lanes that used it. */
  usedBy: Set<object>;
}

export type LocalView = Pick<LocalSide, 'scan' | 'ignores' | 'hash' | 'reloadIgnores' | 'rootLink'>;

export class SharedScans {
  readonly #side: LocalSide;
  #generation = 0;
  #recent: Recent[] = [];
  /** While set (a canary `--once` run), scans are shared whatever their age. */
  pinned = false;
  /** Scans of the local folder actually made (for tests and the benchmark). */
  scans = 0;

  constructor(side: LocalSide) {
    this.#side = side;
  }

  /** Moves on with every watcher batch: scans started before it are not shared after. */
  get generation(): number {
    return this.#generation;
  }

  noteChange(): void {
    this.#generation++;
    this.#recent = [];
  }

  /** A scan of `scopes` for `lane`: another lane's recent one when it may stand for a fresh one. */
  async scan(scopes: readonly string[], lane: object): Promise<LocalScan> {
    const key = JSON.stringify([...scopes].sort());
    const now = Date.now();
    this.#recent = this.#recent.filter((r) => this.pinned || now - r.startedAt <= SHARE_WINDOW_MS);
    let hit = this.#recent.find((r) => r.key === key && r.generation === this.#generation && !r.usedBy.has(lane));
    if (!hit) {
      this.scans++;
      hit = { key, generation: this.#generation, startedAt: now, scan: this.#side.scan(scopes), usedBy: new Set() };
      const made = hit;
      this.#recent.push(made);
      made.scan.catch(() => (this.#recent = this.#recent.filter((r) => r !== made)));
    }
    hit.usedBy.add(lane);
    return copyScan(await hit.scan);
  }

  /** What one lane's passes see: the local side, with scans shared with the other lanes. */
  view(): LocalView {
    const side = this.#side;
    const lane = {};
    return {
      scan: (scopes) => this.scan(scopes, lane),
      get ignores() {
        return side.ignores;
      },
      hash: (rel) => side.hash(rel),
      reloadIgnores: () => side.reloadIgnores(),
      rootLink: () => side.rootLink(),
    };
  }
}

/** A pass edits its scan's maps (hashes, pruning): each lane gets its own. */
function copyScan(s: LocalScan): LocalScan {
  return {
    ...s,
    entries: new Map(s.entries),
    problems: [...s.problems],
    skipped: [...s.skipped],
    blocked: [...s.blocked],
  };
}
