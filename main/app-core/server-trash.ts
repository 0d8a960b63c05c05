/**
 * The window's view of a folder's server trash (`--trash`): what it holds, newest first and
 * capped, and putting one version back (main/engine/restore.ts). Both connect to the server
 * on their own, as `ferry restore` does; the folder's sync keeps running meanwhile.
 */
import { TRASH_DIR } from '../core/temp-name.ts';
import type { FolderConfig } from '../engine/folder-config.ts';
import { restoreFromTrash } from '../engine/restore.ts';
import { trashStamps } from '../engine/trash.ts';
import { openTransports, type TransportOpener } from '../transport/open-transport.ts';
import { TRASH_LIST_CAP, type TrashItem, type TrashRestoreResult } from '../ipc/contract.ts';

/** Files and links in the trash, newest stamp first (paths sorted within a stamp). */
export async function listServerTrash(
  config: FolderConfig,
  deps: { openTransports?: TransportOpener } = {},
): Promise<{ items: TrashItem[]; total: number }> {
  const t = await (deps.openTransports ?? openTransports)(config.endpoint, config.localRoot, 'sftp');
  try {
    const listing = (await t.main.scan([TRASH_DIR])).entries;
    const items: TrashItem[] = [];
    for (const stamp of trashStamps(listing).reverse()) {
      const prefix = `${TRASH_DIR}/${stamp}/`;
      const inStamp: TrashItem[] = [];
      for (const [p, e] of listing) {
        if (e.kind === 'dir' || !p.startsWith(prefix)) continue;
        inStamp.push({ stamp, path: p.slice(prefix.length), size: e.kind === 'file' ? e.size : 0 });
      }
      items.push(...inStamp.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
    }
    return { items: items.slice(0, TRASH_LIST_CAP), total: items.length };
  } finally {
    await t.close().catch(() => undefined);
  }
}

/** Restores `path` from `stamp`; refuses a folder that keeps no trash. */
export async function restoreServerTrash(
  config: FolderConfig,
  path: string,
  stamp: string,
): Promise<TrashRestoreResult> {
  const r = await restoreFromTrash(config, path, { at: stamp });
  return {
    stamp: r.stamp,
    ...(r.serverPreviousKeptAs ? { serverPreviousKeptAs: r.serverPreviousKeptAs } : {}),
    ...(r.localKeptAs ? { localKeptAs: r.localKeptAs } : {}),
  };
}
