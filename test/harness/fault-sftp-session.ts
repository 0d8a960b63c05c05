/**
 * The SFTP sessions of the fault SFTP server (see fault-sftp-server.ts): the request handlers
 * that serve SFTP v3 over a real directory, one request at a time, and the fault rules
 * ({@link SftpFaults}) they obey as each request arrives.
 */
import ssh2 from 'ssh2';
import type { FileEntry, SFTPWrapper } from 'ssh2';
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle as FsFileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import {
  MESSAGE,
  STATUS,
  SftpStatus,
  advertiseExtensions,
  longname,
  readTwoStrings,
  statusOf,
  toAttrs,
  type InAttrs,
} from './fault-sftp-wire.ts';

const OPEN = ssh2.utils.sftp.OPEN_MODE;
const POSIX_RENAME = 'posix-rename@openssh.com';

/** Faults are read at the moment each request (or session) arrives; change them any time. */
export interface SftpFaults {
  /** WRITE to a file whose SFTP path matches answers `failWriteStatus` (nothing is written). */
  failWritesMatching?: RegExp;
  /** Status for `failWritesMatching` (default 'permission-denied'). */
  failWriteStatus?: 'failure' | 'permission-denied';
  /**
   * Total bytes this server will write, across all files and sessions (see `bytesWritten`).
   * The WRITE that crosses the limit writes the bytes that still fit, then it and every later
   * WRITE answer SSH_FX_FAILURE "No space left on device" — a partial file is left behind,
   * as on a real full disk.
   */
  diskFullAfterBytes?: number;
  /**
   * Sessions started while set do not advertise `posix-rename@openssh.com`, and the EXTENDED
   * request answers OP_UNSUPPORTED while set.
   */
  noPosixRename?: boolean;
  /** MKDIR of a matching path answers SSH_FX_FAILURE (as OpenSSH does for EROFS), creating nothing. */
  failMkdirMatching?: RegExp;
  /** RENAME and posix-rename of a matching source path answer SSH_FX_FAILURE, moving nothing. */
  failRenameMatching?: RegExp;
  /** A WRITE to a matching path closes the whole SFTP channel instead of answering. */
  closeChannelOnWriteMatching?: RegExp;
  /** A READDIR of a directory whose path matches closes the whole SFTP channel instead of answering. */
  closeChannelOnReaddirMatching?: RegExp;
  /**
   * After authentication, never answer: new session channels are neither accepted nor
   * refused, sftp subsystem requests get no reply, and SFTP requests of live sessions that
   * arrive while set are never answered (not even once the fault is cleared).
   */
  hangAfterAuth?: boolean;
}

/** What the sessions of one server share with it: set by the server, read and counted by the handlers. */
export interface FaultSftpState {
  /** Absolute directory served; SFTP paths outside it are refused. */
  readonly root: string;
  /** The faults in force, read as each request (or session) arrives. */
  faults: SftpFaults;
  /** Requests received, by SFTP request name and, for EXTENDED, by extension name. */
  readonly stats: Record<string, number>;
  /** Bytes written to disk by WRITE requests, across all files and sessions. */
  bytesWritten: number;
}

type FileHandle = { kind: 'file'; path: string; fh: FsFileHandle };
/** `names` is loaded on the first READDIR and handed out in batches. */
type DirHandle = { kind: 'dir'; path: string; names: string[] | undefined };
type Handle = FileHandle | DirHandle;

/** Serves one SFTP session over `state.root`, counting into and obeying the faults of `state`. */
export function serveSftp(sftp: SFTPWrapper, state: FaultSftpState): void {
  const { root, stats } = state;
  const count = (key: string) => (stats[key] = (stats[key] ?? 0) + 1);

  /** Maps an SFTP path to the local path, refusing anything outside `root`. */
  const local = (sftpPath: string): string => {
    const p = posix.normalize(posix.isAbsolute(sftpPath) ? sftpPath : posix.join(root, sftpPath));
    const trimmed = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
    if (trimmed !== root && !trimmed.startsWith(root + '/')) {
      throw new SftpStatus(STATUS.PERMISSION_DENIED, `Permission denied: ${sftpPath} is outside ${root}`);
    }
    return trimmed;
  };

  const handles = new Map<number, Handle>();
  let nextHandle = 1;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  const closeAll = () => {
    closed = true;
    for (const h of handles.values()) if (h.kind === 'file') void h.fh.close().catch(() => {});
    handles.clear();
  };
  sftp.on('close', closeAll);
  // ssh2 does not answer the client's CHANNEL_CLOSE of an SFTP channel by itself; OpenSSH's
  // sftp client waits for that answer before it exits.
  sftp.on('end', () => {
    closeAll();
    sftp.end();
  });
  sftp.on('error', () => {});
  advertiseExtensions(sftp, () => (state.faults.noPosixRename ? [] : [[POSIX_RENAME, '1']]));

  const newHandle = (h: Handle): Buffer => {
    const id = nextHandle++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id);
    return buf;
  };
  const lookup = (handle: Buffer): Handle => {
    const h = handle.length === 4 ? handles.get(handle.readUInt32BE(0)) : undefined;
    if (!h) throw new SftpStatus(STATUS.FAILURE, 'Invalid handle');
    return h;
  };
  const fileHandle = (handle: Buffer): FileHandle => {
    const h = lookup(handle);
    if (h.kind !== 'file') throw new SftpStatus(STATUS.FAILURE, 'Invalid handle');
    return h;
  };
  const ok = (id: number) => sftp.status(id, STATUS.OK, MESSAGE[STATUS.OK]);

  /** Registers a request handler: counted, queued behind earlier requests, errors answered. */
  const on = <A extends unknown[]>(name: string, run: (id: number, ...args: A) => Promise<void>) => {
    sftp.on(name, (id: number, ...args: A) => {
      count(name);
      if (state.faults.hangAfterAuth) return; // never answered
      chain = chain.then(async () => {
        if (closed) return;
        try {
          await run(id, ...args);
        } catch (err) {
          const st = statusOf(err);
          if (!closed) sftp.status(id, st.status, st.message);
        }
      });
    });
  };

  /** Applies SETSTAT attributes in OpenSSH's order: size, owner, mode, times. */
  const setAttrs = async (path: string, a: InAttrs) => {
    if (a.size !== undefined) await fsp.truncate(path, a.size);
    if (a.uid !== undefined && a.gid !== undefined) await fsp.chown(path, a.uid, a.gid);
    if (a.mode !== undefined) await fsp.chmod(path, a.mode & 0o7777);
    if (a.atime !== undefined && a.mtime !== undefined) await fsp.utimes(path, a.atime, a.mtime);
  };
  const fsetAttrs = async (fh: FsFileHandle, a: InAttrs) => {
    if (a.size !== undefined) await fh.truncate(a.size);
    if (a.uid !== undefined && a.gid !== undefined) await fh.chown(a.uid, a.gid);
    if (a.mode !== undefined) await fh.chmod(a.mode & 0o7777);
    if (a.atime !== undefined && a.mtime !== undefined) await fh.utimes(a.atime, a.mtime);
  };

  on('REALPATH', async (id, path: string) => {
    const p = local(path);
    sftp.name(id, [{ filename: p, longname: p, attrs: {} } as FileEntry]);
  });
  on('STAT', async (id, path: string) => sftp.attrs(id, toAttrs(await fsp.stat(local(path)))));
  on('LSTAT', async (id, path: string) => sftp.attrs(id, toAttrs(await fsp.lstat(local(path)))));
  on('FSTAT', async (id, handle: Buffer) => {
    const h = lookup(handle);
    sftp.attrs(id, toAttrs(h.kind === 'file' ? await h.fh.stat() : await fsp.stat(h.path)));
  });
  on('SETSTAT', async (id, path: string, attrs: InAttrs) => {
    await setAttrs(local(path), attrs);
    ok(id);
  });
  on('FSETSTAT', async (id, handle: Buffer, attrs: InAttrs) => {
    const h = lookup(handle);
    await (h.kind === 'file' ? fsetAttrs(h.fh, attrs) : setAttrs(h.path, attrs));
    ok(id);
  });

  on('OPEN', async (id, path: string, pflags: number, attrs: InAttrs) => {
    const p = local(path);
    const rw = pflags & (OPEN.READ | OPEN.WRITE);
    let flags = rw === (OPEN.READ | OPEN.WRITE) ? fsc.O_RDWR : rw === OPEN.WRITE ? fsc.O_WRONLY : fsc.O_RDONLY;
    if (pflags & OPEN.APPEND) flags |= fsc.O_APPEND;
    if (pflags & OPEN.CREAT) flags |= fsc.O_CREAT;
    if (pflags & OPEN.TRUNC) flags |= fsc.O_TRUNC;
    if (pflags & OPEN.EXCL) flags |= fsc.O_EXCL;
    const mode = attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o666;
    const fh = await fsp.open(p, flags, mode);
    if (closed) return void (await fh.close()); // the channel died while we opened
    sftp.handle(id, newHandle({ kind: 'file', path: p, fh }));
  });
  on('READ', async (id, handle: Buffer, offset: number, len: number) => {
    const h = fileHandle(handle);
    const buf = Buffer.alloc(Math.min(len, 1 << 20));
    const { bytesRead } = await h.fh.read(buf, 0, buf.length, offset);
    if (bytesRead === 0) throw new SftpStatus(STATUS.EOF);
    sftp.data(id, buf.subarray(0, bytesRead));
  });
  on('WRITE', async (id, handle: Buffer, offset: number, data: Buffer) => {
    const h = fileHandle(handle);
    if (state.faults.closeChannelOnWriteMatching && h.path.search(state.faults.closeChannelOnWriteMatching) !== -1) {
      closeAll();
      sftp.end();
      return;
    }
    if (state.faults.failWritesMatching && h.path.search(state.faults.failWritesMatching) !== -1) {
      throw new SftpStatus(state.faults.failWriteStatus === 'failure' ? STATUS.FAILURE : STATUS.PERMISSION_DENIED);
    }
    let chunk = data;
    let full = false;
    const limit = state.faults.diskFullAfterBytes;
    if (limit !== undefined && state.bytesWritten + data.length > limit) {
      chunk = data.subarray(0, Math.max(0, limit - state.bytesWritten));
      full = true;
    }
    if (chunk.length > 0) {
      await h.fh.write(chunk, 0, chunk.length, offset);
      state.bytesWritten += chunk.length;
    }
    if (full) throw new SftpStatus(STATUS.FAILURE, 'No space left on device');
    ok(id);
  });
  on('CLOSE', async (id, handle: Buffer) => {
    const h = lookup(handle);
    handles.delete(handle.readUInt32BE(0));
    if (h.kind === 'file') await h.fh.close();
    ok(id);
  });

  on('OPENDIR', async (id, path: string) => {
    const p = local(path);
    const st = await fsp.stat(p);
    if (!st.isDirectory()) throw new SftpStatus(STATUS.FAILURE);
    sftp.handle(id, newHandle({ kind: 'dir', path: p, names: undefined }));
  });
  on('READDIR', async (id, handle: Buffer) => {
    const h = lookup(handle);
    if (h.kind !== 'dir') throw new SftpStatus(STATUS.FAILURE, 'Invalid handle');
    if (
      state.faults.closeChannelOnReaddirMatching &&
      h.path.search(state.faults.closeChannelOnReaddirMatching) !== -1
    ) {
      closeAll();
      sftp.end();
      return;
    }
    h.names ??= ['.', '..', ...(await fsp.readdir(h.path))];
    // Batches keep each NAME packet well under the client's packet size limit.
    const batch = h.names.splice(0, 100);
    if (batch.length === 0) throw new SftpStatus(STATUS.EOF);
    const entries: FileEntry[] = [];
    for (const name of batch) {
      const st = await fsp.lstat(posix.join(h.path, name)).catch(() => undefined);
      if (st) entries.push({ filename: name, longname: longname(name, st), attrs: toAttrs(st) });
    }
    sftp.name(id, entries);
  });

  on('MKDIR', async (id, path: string, attrs: InAttrs) => {
    if (state.faults.failMkdirMatching && path.search(state.faults.failMkdirMatching) !== -1)
      throw new SftpStatus(STATUS.FAILURE);
    await fsp.mkdir(local(path), attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o777);
    ok(id);
  });
  on('RMDIR', async (id, path: string) => {
    await fsp.rmdir(local(path));
    ok(id);
  });
  on('REMOVE', async (id, path: string) => {
    const p = local(path);
    if ((await fsp.lstat(p)).isDirectory()) throw new SftpStatus(STATUS.FAILURE);
    await fsp.unlink(p);
    ok(id);
  });
  on('RENAME', async (id, oldPath: string, newPath: string) => {
    if (state.faults.failRenameMatching && oldPath.search(state.faults.failRenameMatching) !== -1)
      throw new SftpStatus(STATUS.FAILURE);
    const from = local(oldPath);
    const to = local(newPath);
    // SSH_FXP_RENAME never replaces: OpenSSH answers FAILURE when the target exists.
    const exists = await fsp.lstat(to).then(
      () => true,
      () => false,
    );
    if (exists) throw new SftpStatus(STATUS.FAILURE);
    await fsp.rename(from, to);
    ok(id);
  });
  on('READLINK', async (id, path: string) => {
    const target = await fsp.readlink(local(path));
    sftp.name(id, [{ filename: target, longname: target, attrs: {} } as FileEntry]);
  });
  // ssh2 hands the handler (linkPath, targetPath) whatever the client's order (see fault-sftp-server.ts).
  on('SYMLINK', async (id, linkPath: string, targetPath: string) => {
    await fsp.symlink(targetPath, local(linkPath));
    ok(id);
  });

  on('EXTENDED', async (id, name: string, data: Buffer | undefined) => {
    count(name);
    if (name !== POSIX_RENAME || state.faults.noPosixRename) throw new SftpStatus(STATUS.OP_UNSUPPORTED);
    const [from, to] = readTwoStrings(data);
    if (state.faults.failRenameMatching && from.search(state.faults.failRenameMatching) !== -1)
      throw new SftpStatus(STATUS.FAILURE);
    await fsp.rename(local(from), local(to));
    ok(id);
  });
}
