/**
 * The scanning half of a pass, shared by the pass itself and the dry run (preview.ts): both
 * sides scanned over the same scopes, never through a symlink, and the snapshots reconcile
 * compares. Nothing here writes anywhere.
 */
import { outermost, pathsBelowNonDirectories, type Entry, type Snapshot } from '../core/tree.ts';
import type { RemoteScan, RemoteTransport } from '../transport/transport.ts';
import type { LocalScan } from './local-scan.ts';
import type { LocalSide } from './local-side.ts';
import { renameCandidates } from './reconcile.ts';

export interface ScannedSides {
  localScan: LocalScan;
  remoteScan: RemoteScan;
  /** The scopes actually scanned (widened to any symlink or file met above a scope). */
  scopes: string[];
}

/**
 * Scans both sides. A scope below a symlink (or a file) on either side is widened to that
 * entry and both sides scanned again: otherwise one side would list `link/x` and the other
 * nothing, and the plan would write or delete through the link (outside the target on the
 * server). `settle`, when given, runs once on the first clean scan; when it returns true
 * (it changed the server), both sides are scanned again.
 */
export async function scanBothSides(
  local: Pick<LocalSide, 'scan'>,
  transport: RemoteTransport,
  scopesIn: readonly string[],
  settle?: (remote: Snapshot, local: Snapshot) => Promise<boolean>,
): Promise<ScannedSides> {
  let scopes = [...scopesIn];
  for (let attempt = 1, settled = settle === undefined; ; attempt++) {
    const localScan = await local.scan(scopes);
    const remoteScan = await transport.scan(scopes);
    const blocked = [...localScan.blocked, ...(remoteScan.blocked ?? [])];
    if (!blocked.length) {
      if (settled || !(await settle?.(remoteScan.entries, localScan.entries))) return { localScan, remoteScan, scopes };
      settled = true;
      continue;
    }
    if (attempt === 3)
      throw new Error(
        `The folder kept changing between files and links while Ferry scanned ${JSON.stringify(blocked[0])}; scanning again.`,
      );
    scopes = outermost([...scopes, ...blocked]);
  }
}

/**
 * The snapshots reconcile compares: ignored paths left out of the server's side (the local
 * scan never lists them), and nothing below a file or symlink on either side (the scanners
 * refuse to go through symlinks; this is the second lock on that door).
 */
export function snapshotsOf(
  scanned: ScannedSides,
  ignores: (rel: string, isDir: boolean) => boolean,
): { local: Map<string, Entry>; remote: Map<string, Entry> } {
  const local = scanned.localScan.entries;
  const remote = new Map<string, Entry>();
  for (const [p, e] of scanned.remoteScan.entries) if (!isIgnoredPath(p, e, ignores)) remote.set(p, e);
  for (const snapshot of [local, remote]) for (const p of pathsBelowNonDirectories(snapshot)) snapshot.delete(p);
  return { local, remote };
}

/** Hashes the local files reconcile may match to a deleted path as a rename. */
export async function hashRenameCandidates(
  side: Pick<LocalSide, 'hash'>,
  input: { ancestor: Snapshot; local: Map<string, Entry>; remote: Snapshot; scopes: readonly string[] },
): Promise<void> {
  for (const p of renameCandidates(input)) {
    const e = input.local.get(p);
    if (e?.kind !== 'file') continue;
    try {
      input.local.set(p, { ...e, hash: await side.hash(p) });
    } catch {
      // vanished since the scan; the watcher will mark it again
    }
  }
}

export function isIgnoredPath(path: string, entry: Entry, ignores: (rel: string, isDir: boolean) => boolean): boolean {
  return path !== '' && ignores(path, entry.kind === 'dir');
}
