/**
 * The soak's other user: someone working on the server's copy of a folder while Ferry pushes
 * to it (push mode). Files only: it edits, creates and deletes regular files below the
 * remote directory, never directories or links, never Ferry's own entries (`.ferry-*`, conflict
 * copies) and never anything outside the folder. Every change that landed is written to a
 * ledger (path, SHA-256 of the new content, time, and the SHA-256 of what it replaced or
 * removed), which verify.ts uses to prove that no server edit was lost.
 *
 * How a change lands, so the ledger is exact even while Ferry moves entries aside:
 * - edit: the file is taken away with one rename into a staging directory outside the folder
 *   (what was there is then known exactly), the new version is written in staging and linked
 *   into place with link(2), which never replaces anything. If the path was taken meanwhile (by
 *   Ferry restoring it), or the link fails, the edit is recorded as a delete of what was taken.
 * - create: written in staging, linked under a name that does not exist (no-clobber again).
 * - delete: taken away with one rename into staging, hashed, then unlinked.
 * The staging directory is on the same file system as the folder (a rename across a read-only
 * bind mount fails with EXDEV: counted as refused, like EROFS and ENOSPC).
 *
 * A size-and-mtime syncer (Ferry, rsync) cannot see an edit that keeps a file's size and its
 * mtime second. Those are real, but no pass can ever find them, so the driver does not make
 * them: a new version has another size or another mtime second than what it replaces, and a
 * file modified less than 2 s ago is not edited (two edits in one second could return to
 * the size and second Ferry recorded). Same-size edits in another second do happen (1 in 4).
 */
import type { RecentEdits } from './recent-edits.ts';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { NameMaker } from './names.ts';
import type { Rng } from './rng.ts';

export const SERVER_OPERATIONS = ['server-edit', 'server-create', 'server-delete'] as const;
export type ServerOperation = (typeof SERVER_OPERATIONS)[number];

/** One change the driver made on the server, in the order made. */
export interface ServerChange {
  kind: ServerOperation;
  /** Relative path below the remote folder. */
  path: string;
  /** SHA-256 and size of the new content (edit, create). */
  sha256?: string;
  size?: number;
  /** SHA-256 of what the change replaced or removed (edit, delete). */
  replaced?: string;
  /** Date.now() once the change had landed. */
  at: number;
}

export interface ServerEditorOptions {
  /** The folder on the server (a local directory of the test sshd or the fault server). */
  remoteDir: string;
  /** A directory on the same file system as remoteDir, outside it. */
  stagingDir: string;
  rng: Rng;
  /** Token for the shell-injection names (names.ts). */
  token: string;
  /** Who the server's files belong to (the sshd's user), when not us. */
  owner?: { uid: number; gid: number };
  /** The local folder synced to remoteDir: what is not there is the server's alone. */
  localRoot: string;
  /**
   * Above this many bytes in files only the server holds (push mode never removes them), the
   * driver deletes those until it is below again.
   */
  maxBytes: number;
  /** Where to append the ledger as JSON lines, for a look after a failed run. */
  ledgerFile?: string;
  /** Shared with the folder's local driver (recent-edits.ts). */
  recent?: RecentEdits;
}

interface ServerFile {
  rel: string;
  size: number;
  mtimeMs: number;
}

const FILE_MODES = [0o644, 0o600, 0o640, 0o664];
const MARK = '.ferry-conflict-';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export class ServerEditor {
  readonly changes: ServerChange[] = [];
  readonly counts = new Map<ServerOperation, number>();
  /** Changes the server refused (read-only, disk full) or that raced Ferry (path gone): by operation. */
  readonly refused = new Map<ServerOperation, number>();
  /** Unexpected errors (a bug in the driver), by message. */
  readonly failures: string[] = [];
  private readonly o: ServerEditorOptions;
  private readonly names: NameMaker;
  private n = 0;

  constructor(o: ServerEditorOptions) {
    this.o = o;
    this.names = new NameMaker(o.rng, o.token);
    mkdirSync(o.stagingDir, { recursive: true });
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** One random change on the server. */
  step(): void {
    const r = this.o.rng;
    const l = this.list();
    const serverOnly = l.files.filter((f) => !exists(join(this.o.localRoot, f.rel)));
    const full = serverOnly.reduce((n, f) => n + f.size, 0) > this.o.maxBytes;
    const op: ServerOperation = full
      ? 'server-delete'
      : r.weighted<ServerOperation>({ 'server-edit': 5, 'server-create': 3, 'server-delete': 2 });
    try {
      this.apply(op, full ? { ...l, files: serverOnly } : l);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code && ['EROFS', 'EXDEV', 'ENOSPC', 'ENOENT', 'ENOTDIR', 'EEXIST', 'EDQUOT'].includes(code))
        this.refused.set(op, (this.refused.get(op) ?? 0) + 1);
      else this.failures.push(`${op}: ${(err as Error).message}`);
    }
  }

  private apply(op: ServerOperation, l: { files: ServerFile[]; dirs: string[] }): void {
    const r = this.o.rng;
    const abs = (rel: string) => join(this.o.remoteDir, rel);
    const now = Date.now();
    // Not edited or deleted within 2 s of its last change (see the file comment).
    const settled = l.files.filter((f) => now - f.mtimeMs > 2000 || f.mtimeMs > now + 1000);
    if (op !== 'server-create' && settled.length === 0) op = 'server-create';
    switch (op) {
      case 'server-create': {
        const dir = l.dirs.length && r.chance(0.8) ? r.pick(l.dirs) : '';
        let rel: string;
        do rel = dir ? `${dir}/${this.names.next(false)}` : this.names.next(false);
        while (exists(abs(rel)));
        const content = this.content();
        const staged = this.stage(content, r.pick(FILE_MODES));
        try {
          linkSync(staged, abs(rel));
        } finally {
          rmSync(staged, { force: true });
        }
        this.record({ kind: op, path: rel, sha256: sha256(content), size: content.length, at: Date.now() });
        return;
      }
      case 'server-delete': {
        const f = r.pick(settled);
        const taken = this.take(abs(f.rel));
        try {
          this.record({ kind: op, path: f.rel, replaced: sha256(readFileSync(taken)), at: Date.now() });
        } finally {
          rmSync(taken, { force: true });
        }
        return;
      }
      case 'server-edit': {
        const f = r.pick(settled);
        // The new version is staged first: a full disk refuses it before anything changed.
        const before = lstatSync(abs(f.rel));
        let content =
          f.size >= 16 && r.chance(0.25) ? r.bytes(f.size) : this.content(f.size === 0 ? undefined : f.size);
        if (this.o.recent && this.o.recent.sizeFor('server', f.rel, content.length) !== content.length)
          content = Buffer.concat([content, r.bytes(1)]);
        let staged = this.stage(content, before.mode & 0o7777);
        try {
          const taken = this.take(abs(f.rel));
          // From here on the old version is off the server: whatever happens is recorded.
          let replaced: string | undefined;
          try {
            const old = lstatSync(taken);
            replaced = sha256(readFileSync(taken));
            const st = lstatSync(staged);
            if (st.size === old.size && Math.floor(st.mtimeMs / 1000) === Math.floor(old.mtimeMs / 1000)) {
              // Same size in the same second: invisible to any size-and-mtime comparison.
              rmSync(staged);
              content = Buffer.concat([content, r.bytes(1)]);
              staged = this.stage(content, old.mode & 0o7777);
            }
            linkSync(staged, abs(f.rel));
          } catch {
            // Taken meanwhile (Ferry restored it), refused, or the disk filled up: the old
            // version is gone all the same.
            this.record({ kind: 'server-delete', path: f.rel, ...(replaced ? { replaced } : {}), at: Date.now() });
            return;
          } finally {
            rmSync(taken, { force: true });
          }
          this.o.recent?.note('server', f.rel, content.length);
          this.record({
            kind: op,
            path: f.rel,
            sha256: sha256(content),
            size: content.length,
            ...(replaced ? { replaced } : {}),
            at: Date.now(),
          });
        } finally {
          rmSync(staged, { force: true });
        }
        return;
      }
    }
  }

  private record(c: ServerChange): void {
    this.changes.push(c);
    if (this.o.ledgerFile)
      appendFileSync(this.o.ledgerFile, `${JSON.stringify({ ...c, time: new Date(c.at).toISOString() })}\n`);
    this.counts.set(c.kind, (this.counts.get(c.kind) ?? 0) + 1);
  }

  /** Moves `path` into staging with one rename and returns where it went. */
  private take(path: string): string {
    const to = join(this.o.stagingDir, `taken-${process.pid}-${this.n++}`);
    renameSync(path, to);
    return to;
  }

  /** Writes `content` to a new staging file with `mode`, owned like the server's files. */
  private stage(content: Buffer, mode: number): string {
    const p = join(this.o.stagingDir, `new-${process.pid}-${this.n++}`);
    try {
      writeFileSync(p, content);
      chmodSync(p, mode);
      if (this.o.owner) chownSync(p, this.o.owner.uid, this.o.owner.gid);
    } catch (err) {
      rmSync(p, { force: true });
      throw err;
    }
    return p;
  }

  /** Random content of at least 16 bytes (so no two versions share a hash), mostly small; never `avoid` bytes long. */
  private content(avoid?: number): Buffer {
    const r = this.o.rng;
    let size: number;
    do size = r.chance(0.85) ? r.int(16, 16 * 1024) : r.int(16 * 1024, 128 * 1024);
    while (size === avoid);
    return r.bytes(size);
  }

  /** The server's regular files and directories the driver may touch (Ferry's own entries left out). */
  list(): { files: ServerFile[]; dirs: string[] } {
    const out: { files: ServerFile[]; dirs: string[] } = { files: [], dirs: [] };
    const walk = (rel: string) => {
      let names: string[];
      try {
        names = readdirSync(rel ? join(this.o.remoteDir, rel) : this.o.remoteDir);
      } catch {
        return; // gone (Ferry removed it) or unreadable
      }
      for (const name of names) {
        if (name.startsWith('.ferry-') || name.includes(MARK)) continue;
        const r = rel ? `${rel}/${name}` : name;
        let st;
        try {
          st = lstatSync(join(this.o.remoteDir, r));
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          if (Buffer.byteLength(r) < 1500 && r.split('/').length < 8) out.dirs.push(r);
          walk(r);
        } else if (st.isFile()) out.files.push({ rel: r, size: st.size, mtimeMs: st.mtimeMs });
      }
    };
    walk('');
    return out;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
