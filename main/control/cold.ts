/**
 * What the state directory tells with no Ferry running: each folder's saved index (where it
 * syncs, how many files the server held, when it was saved). Read-only.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { folderStateFiles } from '../engine/folder-config.ts';
import { loadIndex } from '../engine/index-store.ts';

export interface ColdFolder {
  id: string;
  localRoot: string;
  remote: string;
  stateDir: string;
  /** When the index was last saved (the last pass that changed something). */
  savedAt?: string;
  files?: number;
  /** Why the index could not be read, when it could not. */
  problem?: string;
}

export async function coldFolders(stateRoot: string): Promise<ColdFolder[]> {
  const base = join(stateRoot, 'folders');
  const ids = await readdir(base).catch(() => [] as string[]);
  const out: ColdFolder[] = [];
  for (const id of ids.sort()) {
    const stateDir = join(base, id);
    const file = folderStateFiles(stateDir).index;
    let head: { localRoot?: unknown; remote?: unknown; savedAt?: unknown };
    try {
      head = JSON.parse(await readFile(file, 'utf8')) as typeof head;
    } catch {
      continue; // no index yet (never synced) or unreadable: nothing to say about a folder we cannot name
    }
    if (typeof head.localRoot !== 'string' || typeof head.remote !== 'string') continue;
    const folder: ColdFolder = { id, localRoot: head.localRoot, remote: head.remote, stateDir };
    if (typeof head.savedAt === 'string') folder.savedAt = head.savedAt;
    try {
      const entries = await loadIndex(file);
      folder.files = [...(entries?.values() ?? [])].filter((e) => e.kind === 'file').length;
    } catch (err) {
      folder.problem = (err as Error).message;
    }
    out.push(folder);
  }
  return out;
}
