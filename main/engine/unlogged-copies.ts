/**
 * Conflict copies with no record: a pass that was interrupted (Ferry killed, the connection
 * cut) after the server's version was renamed to its conflict copy but before the record was
 * appended. The copy is safe on the server, but nobody would know why it is there. The first
 * full pass after such an interruption looks for them and logs each one, so every conflict
 * copy Ferry made has a record.
 *
 * A candidate is a server entry that:
 * - has a conflict copy's name (core/conflict-name.ts) stamped no earlier than the second the
 *   interrupted pass began (an older copy is not this interruption's: another machine's or the
 *   user's own);
 * - is neither in the ancestor nor in the local folder (Ferry never made it its own);
 * - is not already the copy of a record in the conflict log;
 * - does not lie inside another candidate (a kept directory counts once).
 */
import { parseConflictCopyName } from '../core/conflict-name.ts';
import { baseName, joinRel, parentOf, type Entry, type Snapshot } from '../core/tree.ts';
import type { ConflictRecord, ConflictSide } from './conflict-log.ts';

export const UNLOGGED_COPY_NOTE =
  "found on the server after an interrupted sync: Ferry had kept the server's version here but was stopped before it logged it";

/** Pure: a record for each unlogged conflict copy in `remote` (see the module comment). */
export function findUnloggedCopies(
  remote: Snapshot,
  ancestor: Snapshot,
  local: Snapshot,
  logged: ReadonlySet<string>,
  since: number,
  now: Date,
): ConflictRecord[] {
  const floor = Math.floor(since / 1000) * 1000;
  const found: ConflictRecord[] = [];
  const copies = new Set<string>();
  for (const [p, e] of remote) {
    if (p === '' || ancestor.has(p) || local.has(p) || logged.has(p)) continue;
    const parsed = parseConflictCopyName(baseName(p));
    if (parsed === undefined || parsed.stamp.getTime() < floor) continue;
    copies.add(p);
    found.push({
      time: now.toISOString(),
      path: joinRel(parentOf(p), parsed.original),
      local: null,
      remote: sideOf(e),
      action: e.kind === 'dir' ? 'kept-remote-dir' : 'kept-remote-copy',
      conflictCopyPath: p,
      note: UNLOGGED_COPY_NOTE,
    });
  }
  return found.filter((r) => !insideAnother(r.conflictCopyPath as string, copies));
}

function insideAnother(p: string, copies: ReadonlySet<string>): boolean {
  for (let dir = parentOf(p); dir !== ''; dir = parentOf(dir)) if (copies.has(dir)) return true;
  return false;
}

function sideOf(e: Entry): ConflictSide {
  if (e.kind === 'file') return { size: e.size, mtimeMs: e.mtimeMs };
  if (e.kind === 'symlink') return { kind: 'symlink', target: e.target };
  return { kind: 'dir' };
}
