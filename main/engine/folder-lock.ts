/**
 * One process per folder state directory: two Ferry processes syncing the same pair would
 * race on the server and overwrite each other's ancestor index. The lock is a file holding
 * the owner's pid, created exclusively; a lock whose pid is no longer alive (a crash,
 * `kill -9`) is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface FolderLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockFolderState(stateDir: string, what: string): Promise<FolderLock> {
  const file = join(stateDir, 'lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
        throw new Error(
          `Another Ferry process (pid ${owner}) is already syncing ${what}. Stop it first, or give this one its own --state-dir.`,
        );
      await rm(file, { force: true }); // stale: its owner is gone
    }
  }
  throw new Error(`Could not lock ${file}; remove it if no other Ferry process is running.`);
}
