/**
 * The server trash (`--trash`) when rsync is the only transport. rsync cannot rename on the
 * server after a run, so a checked run's `--backup-dir` is the trash stamp directory itself:
 * rsync moves (deletions) or hard-links (replacements, an instant before it renames the new
 * file into place) every entry it destroys to `<trash>/<path>`, and the settling
 * (rsync-backups.ts) only takes out again what no longer matches the plan, which becomes a
 * conflict copy. Nothing that goes to the trash is ever copied.
 *
 * rsync's backup silently replaces an earlier backup at the same name, so a stamp that
 * already holds one of the run's paths (the same file trashed twice within one second) is
 * not used: the run takes the next second's stamp that holds none of them. Invariant: after
 * the run, everything below `<dir>/<item path>` is what this run destroyed.
 */
import { utcStamp } from '../core/conflict-name.ts';
import { joinRel } from '../core/tree.ts';
import type { RsyncRunner } from './rsync-runner.ts';

const STAMP = /^(.*\/)?(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/;

/** Stamps tried after the given one, a second apart; then the run fails rather than overwrite. */
const TRIES = 60;

/**
 * The trash directory for an rsync run that may destroy `paths` (relative): `trash` itself
 * when none of them is in it yet, else the first later stamp (one second on, and so on) that
 * holds none of them. One listing run per stamp tried.
 */
export async function freeTrashDir(rsync: RsyncRunner, trash: string, paths: readonly string[]): Promise<string> {
  for (let n = 0; n <= TRIES; n++) {
    const dir = laterStamp(trash, n);
    // Recursive: a directory is listed only with -r (a stamp holding an earlier version of
    // one file below a removed directory is passed over too; that costs a second, not data).
    const found = await rsync.list(
      paths.map((p) => joinRel(dir, p)),
      true,
    );
    if (!found || found.size === 0) return dir;
  }
  throw new Error(
    `The server trash holds ${paths[0] ?? 'these paths'} in every stamp from ${trash} on for ${TRIES} seconds; nothing was changed.`,
  );
}

/** `trash` with its stamp `n` seconds later (`<trash>-<n>` when it ends in no stamp). */
function laterStamp(trash: string, n: number): string {
  if (n === 0) return trash;
  const m = STAMP.exec(trash);
  if (!m) return `${trash}-${n}`;
  const [, prefix = '', y, mo, d, h, mi, s] = m;
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + n * 1000;
  return `${prefix}${utcStamp(new Date(t))}`;
}
