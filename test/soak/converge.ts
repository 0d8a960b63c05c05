/** Waiting for a soaked folder to converge, and reading its verdict while its trees may still change. */
import { emptyAccount, verifyFolder, type FolderVerdict } from './verify.ts';
import type { Folder } from './soak-types.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function safeVerify(local: string, remote: string, opts: Parameters<typeof verifyFolder>[2]): FolderVerdict {
  try {
    return verifyFolder(local, remote, opts);
  } catch (err) {
    return {
      differences: [`tree changed while read: ${(err as Error).message}`],
      loggedConflictCopies: [],
      conflictRecords: 0,
      serverEdits: emptyAccount(),
      unseenDeletes: [],
    };
  }
}

export async function until(check: () => boolean, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(message);
    await sleep(200);
  }
}

/**
 * Waits until `check` holds on two polls a second apart ('converged'), or until Ferry has
 * reported idle and in sync for 15 s (45 s while its watcher is down and it polls) while
 * `check` still fails ('claims-in-sync': waiting longer would not help), or `timeoutMs`
 * ('timeout').
 */
export async function settle(
  f: Folder,
  check: () => boolean,
  timeoutMs: number,
): Promise<'converged' | 'claims-in-sync' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  let streak = 0;
  let claimSince: number | undefined;
  while (Date.now() < deadline) {
    const good = check();
    streak = good ? streak + 1 : 0;
    if (streak >= 2) return 'converged';
    if (!good && f.ferry.inSync) {
      claimSince ??= Date.now();
      // A folder whose watcher failed (it says so) sees local changes at its next full
      // rescan, every poll interval (30 s): give it one before calling its claim wrong.
      const polling = (f.ferry.lastState?.status as { watcher?: unknown } | undefined)?.watcher === 'polling';
      if (Date.now() - claimSince > (polling ? 45_000 : 15_000)) return 'claims-in-sync';
    } else claimSince = undefined;
    await sleep(streak ? 1000 : 500);
  }
  return 'timeout';
}
