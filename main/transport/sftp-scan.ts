/**
 * Lists the server below each scope over SFTP, never past a symlink: a path through a
 * server symlink would be wherever the link points, outside the synced tree.
 */
import type { Stats } from 'ssh2';
import { mapLimit } from '../core/map-limit.ts';
import { TEMP_PREFIX } from '../core/temp-name.ts';
import { ancestorsOf, baseName, joinRel, type Entry } from '../core/tree.ts';
import { isNoSuchFile } from './sftp-session.ts';
import { entryOf, S_IFDIR, S_IFMT, type SftpSite } from './sftp-land.ts';
import type { RemoteScan } from './transport.ts';

export async function scanSftp(site: SftpSite, scopes: readonly string[]): Promise<RemoteScan> {
  const entries = new Map<string, Entry>();
  const tempFiles: string[] = [];
  const links: string[] = [];
  const add = (rel: string, e: Entry) => {
    entries.set(rel, e);
    if (e.kind === 'symlink') links.push(rel);
  };
  const walk = async (dir: string): Promise<void> => {
    let list;
    try {
      list = await site.session.readdir(site.abs(dir));
    } catch (err) {
      if (isNoSuchFile(err)) return;
      throw err;
    }
    const subdirs: string[] = [];
    for (const item of list) {
      if (item.filename === '.' || item.filename === '..' || item.filename.includes('/')) continue;
      const rel = joinRel(dir, item.filename);
      if (item.filename.startsWith(TEMP_PREFIX)) {
        tempFiles.push(rel);
        continue;
      }
      const e = entryOf(item.attrs);
      if (!e) continue;
      add(rel, e);
      if (e.kind === 'dir') subdirs.push(rel);
    }
    await mapLimit(subdirs, 16, walk);
  };
  const blocked: string[] = [];
  const dirs = new Set<string>();
  /** True when every directory leading to `scope` is a real directory on the server. */
  const reachable = async (scope: string): Promise<boolean> => {
    for (const a of ancestorsOf(scope)) {
      if (dirs.has(a)) continue;
      let st: Stats;
      try {
        st = await site.session.lstat(site.abs(a));
      } catch (err) {
        if (isNoSuchFile(err)) return false;
        throw err;
      }
      if ((st.mode & S_IFMT) !== S_IFDIR) {
        blocked.push(a);
        return false;
      }
      dirs.add(a);
    }
    return true;
  };
  for (const scope of scopes) {
    // The server resolves a symlink in the middle of a path: never list past one.
    if (!(await reachable(scope))) continue;
    let st: Stats;
    try {
      st = await site.session.lstat(site.abs(scope));
    } catch (err) {
      if (isNoSuchFile(err)) continue;
      throw err;
    }
    if (scope !== '' && baseName(scope).startsWith(TEMP_PREFIX)) {
      tempFiles.push(scope);
      continue;
    }
    const e = entryOf(st);
    if (!e) continue;
    add(scope, e);
    if (e.kind === 'dir') await walk(scope);
  }
  await mapLimit(links, 32, async (rel) => {
    entries.set(rel, { kind: 'symlink', target: await site.session.readlink(site.abs(rel)) });
  });
  return { entries, tempFiles, blocked };
}
