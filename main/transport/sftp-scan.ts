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
import type { ListedEntry } from './remote-list.ts';
import type { RemoteScan } from './transport.ts';

/** What {@link entryOf} says of the same entry's SFTP attributes, from a listing. */
function entryOfListed(l: ListedEntry): Entry | undefined {
  if (l.type === 'd') return { kind: 'dir', mode: l.mode };
  if (l.type === 'f') return { kind: 'file', size: l.size, mtimeMs: l.mtime * 1000, mode: l.mode };
  if (l.type === 'l') return { kind: 'symlink', target: l.target };
  return undefined;
}

export async function scanSftp(site: SftpSite, scopes: readonly string[]): Promise<RemoteScan> {
  const entries = new Map<string, Entry>();
  const tempFiles: string[] = [];
  const links: string[] = [];
  const add = (rel: string, e: Entry) => {
    entries.set(rel, e);
    if (e.kind === 'symlink') links.push(rel);
  };
  /** What becomes of one name in a listing: a temp file is noted, not descended into; a kind Ferry does not sync is left out. */
  const fate = (name: string, e: Entry | undefined): Entry['kind'] | 'temp' | 'skip' =>
    name.startsWith(TEMP_PREFIX) ? 'temp' : e === undefined ? 'skip' : e.kind;
  const record = (rel: string, fateOf: ReturnType<typeof fate>, e: Entry | undefined) => {
    if (fateOf === 'temp') tempFiles.push(rel);
    else if (e) add(rel, e);
  };
  const walk = async (dir: string): Promise<void> => {
    if (dir === '' && site.session.listTree && (await listed(dir))) return;
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
      const e = entryOf(item.attrs);
      const f = fate(item.filename, e);
      record(rel, f, e);
      if (f === 'dir') subdirs.push(rel);
    }
    await mapLimit(subdirs, 16, walk);
  };
  /**
   * The tree below `dir` in one listing (remote-list.ts), by the same rules as {@link walk},
   * symlink targets included. False, with nothing recorded, when the server could not list
   * it that way: then it is walked over SFTP.
   */
  const listed = async (dir: string): Promise<boolean> => {
    const seen: { rel: string; f: ReturnType<typeof fate>; e: Entry | undefined }[] = [];
    /** Where find lists what is below an entry not descended into (right after it). */
    let skipBelow: string | undefined;
    const ok = await site.session.listTree?.(site.abs(dir), (l) => {
      if (l.rel === '') return;
      if (skipBelow !== undefined && l.rel.startsWith(skipBelow)) return;
      skipBelow = undefined;
      const e = entryOfListed(l);
      const f = fate(baseName(l.rel), e);
      seen.push({ rel: joinRel(dir, l.rel), f, e });
      if (f !== 'dir') skipBelow = `${l.rel}/`;
    });
    if (!ok) return false;
    for (const { rel, f, e } of seen) {
      record(rel, f, e);
      if (f === 'symlink') listedLinks.add(rel);
    }
    return true;
  };
  /** Symlinks whose target came with a listing: no READLINK for these. */
  const listedLinks = new Set<string>();
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
  await mapLimit(
    links.filter((rel) => !listedLinks.has(rel)),
    32,
    async (rel) => {
      entries.set(rel, { kind: 'symlink', target: await site.session.readlink(site.abs(rel)) });
    },
  );
  return { entries, tempFiles, blocked };
}
