/**
 * Local staging directories for the rsync transport: rsync can only copy what exists, so a
 * directory, a symlink or a deletion is first built in a temp directory and pushed from there
 * (and a listing is a dry run into one).
 */
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `fn` with a fresh staging directory, removed afterwards whatever happens. */
export async function withStage<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-rsync-'));
  try {
    return await fn(dir);
  } finally {
    await removeStage(dir);
  }
}

/** Deletes a staging directory even when staged modes (0o500, 0o000) forbid it for a non-root user. */
async function removeStage(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    const open = async (d: string): Promise<void> => {
      await chmod(d, 0o700).catch(() => undefined);
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => []))
        if (e.isDirectory()) await open(join(d, e.name));
    };
    await open(dir);
    await rm(dir, { recursive: true, force: true });
  }
}
