/**
 * Changing a server entry's mode and mtime only while it is still the entry the plan saw.
 *
 * A mode-and-mtime change is no harmless touch-up: a server edit that kept the file's size
 * (same-size rewrites are common) is told apart from Ferry's own version by its mtime alone.
 * Setting Ferry's mtime back onto it made the edit invisible to every later pass, and the
 * next local change overwrote it with no conflict copy (soak seed 1203603).
 */
import { matchesExpected } from '../core/tree.ts';
import { isPermissionDenied } from './sftp-session.ts';
import { entryOf, type SftpSite } from './sftp-land.ts';
import { statEntry } from './sftp-expected.ts';
import type { AttributesItem, ItemResult } from './transport.ts';

/**
 * Sets the attributes of `item.path` (absolute `abs`) when the server still holds
 * `item.expected` there; otherwise nothing changes and the result says `serverChanged`.
 * A file is checked and changed through one open handle: an edit that replaces the file
 * after the check (a new inode renamed over it) leaves the handle on the old one, which is
 * then no longer on the server. What remains possible is an in-place rewrite of the same
 * inode between the handle's stat and its setstat (one round trip), and for a file Ferry may
 * not read (mode 0200) or a directory, a change between the stat and the setstat by path.
 * Throws what the server refuses; the caller describes it.
 */
export async function setAttributesExpected(site: SftpSite, abs: string, item: AttributesItem): Promise<ItemResult> {
  const attrs: { mode?: number; mtime?: number; atime?: number } = {};
  if (item.mode !== undefined) attrs.mode = item.mode;
  if (item.mtimeMs !== undefined) attrs.mtime = attrs.atime = Math.floor(item.mtimeMs / 1000);
  const changed = { path: item.path, serverChanged: true };
  const byPath = async (): Promise<ItemResult> => {
    await site.session.setstat(abs, attrs);
    return { path: item.path };
  };
  const found = await statEntry(site, abs);
  if (found === undefined || !matchesExpected(found, item.expected)) return changed;
  if (found.kind !== 'file') return byPath();
  let handle: Buffer;
  try {
    handle = await site.session.open(abs, 'r', {});
  } catch (err) {
    if (!isPermissionDenied(err)) throw err;
    return byPath();
  }
  try {
    const held = entryOf(await site.session.fstat(handle, abs));
    if (held === undefined || !matchesExpected(held, item.expected)) return changed;
    await site.session.fsetstat(handle, attrs, abs);
    return { path: item.path };
  } finally {
    await site.session.close(handle, abs).catch(() => undefined);
  }
}
