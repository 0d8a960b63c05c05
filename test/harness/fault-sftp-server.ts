/**
 * An in-process SSH server (ssh2's `Server`) that serves SFTP v3 over a real directory and
 * can be told to misbehave in ways OpenSSH will not on demand: failing writes, a full disk,
 * a missing `posix-rename@openssh.com`, a channel closed mid-write, a server that stops
 * answering after authentication.
 *
 * Paths: an SFTP path is the local path. Absolute paths must lie inside `root` (anything else
 * answers PERMISSION_DENIED); relative paths resolve against `root`, so `realpath('.')` is
 * `root`, like a home directory.
 *
 * Requests of one SFTP session are handled one at a time, in arrival order, like OpenSSH's
 * sftp-server; status messages mirror OpenSSH's ("No such file", "Permission denied",
 * "Failure", ...).
 *
 * SYMLINK argument order: ssh2 normalises OpenSSH's swapped order on both ends (its client
 * swaps only when the server ident is OpenSSH; its server swaps only when the client ident is
 * OpenSSH). This server keeps ssh2's default ident, so the ssh2 client's
 * `symlink(target, linkPath)` and OpenSSH's `sftp` client both create `linkPath -> target`.
 *
 * Extensions: ssh2's server always answers SSH_FXP_INIT with a bare VERSION 3 packet. This
 * harness swaps that packet, on its way out, for one that advertises
 * `posix-rename@openssh.com` (unless `faults.noPosixRename` is set when the session starts).
 * A client detects the extension from the VERSION packet (in ssh2:
 * `sftp._extensions['posix-rename@openssh.com'] === '1'`; `ext_openssh_rename` throws
 * "Server does not support this extended request" without it).
 */
import ssh2 from 'ssh2';
import { ed25519KeyPair } from './ed25519-key-pair.ts';
import type { AuthContext, ConnectConfig, Connection, FileEntry, ParsedKey, Session, SFTPWrapper } from 'ssh2';
import { createServer, type Socket } from 'node:net';
import { constants as fsc, type Stats as FsStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle as FsFileHandle } from 'node:fs/promises';
import { isAbsolute, posix, resolve as resolvePath } from 'node:path';

const { Client, Server, utils } = ssh2;
export type SshClient = InstanceType<typeof Client>;
const STATUS = utils.sftp.STATUS_CODE;
const OPEN = utils.sftp.OPEN_MODE;

export const FAULT_SFTP_USER = 'u';
export const FAULT_SFTP_PASSWORD = 'pw';
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

export interface FaultSftpServerOptions {
  /** Absolute directory served; SFTP paths outside it are refused. */
  root: string;
  /** An OpenSSH public key line (`ssh-ed25519 AAAA... comment`) accepted for user `u`. */
  authorizedPublicKey?: string | Buffer;
  /** The password accepted for user `u` (default {@link FAULT_SFTP_PASSWORD}). */
  password?: string;
  /**
   * Two-factor login: the right password or key is only half of it (partial success); the
   * server then asks {@link ONE_TIME_CODE_PROMPT} (keyboard-interactive, echo off) and
   * accepts exactly this answer. A wrong one is refused (keyboard-interactive may be tried again).
   */
  oneTimeCode?: string;
}

/** What the server asks for with {@link FaultSftpServerOptions.oneTimeCode}. */
export const ONE_TIME_CODE_PROMPT = 'Verification code: ';

export interface FaultSftpServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: typeof FAULT_SFTP_USER;
  readonly password: string;
  readonly root: string;
  /** Base64 of the host public key blob, as in known_hosts and in ssh2's `hostVerifier(key)`. */
  readonly hostPublicKeyBase64: string;
  readonly hostKeyType: 'ssh-ed25519';
  /** `[127.0.0.1]:port ssh-ed25519 AAAA...`, ready for a known_hosts file. */
  readonly knownHostsLine: string;
  /** Set or clear faults at any time: mutate it, or assign a whole new object. */
  faults: SftpFaults;
  /**
   * Requests received, by SFTP request name (`OPEN`, `WRITE`, `RENAME`, `EXTENDED`, ...) and,
   * for EXTENDED, also by extension name (`posix-rename@openssh.com`). Absent key = zero.
   */
  readonly stats: Record<string, number>;
  /** Bytes written to disk by WRITE requests, across all files and sessions. */
  readonly bytesWritten: number;
  /** TCP connections currently open. */
  readonly connections: number;
  /** Times the server asked for the one-time code (see {@link FaultSftpServerOptions.oneTimeCode}). */
  readonly codesAsked: number;
  /** Logins that passed the first factor (the password or key), with or without a code after. */
  readonly firstFactors: number;
  /** Stop listening and drop every connection (idempotent). */
  close(): Promise<void>;
}

/** OpenSSH's sftp-server status messages. */
const MESSAGE: Record<number, string> = {
  [STATUS.OK]: 'Success',
  [STATUS.EOF]: 'End of file',
  [STATUS.NO_SUCH_FILE]: 'No such file',
  [STATUS.PERMISSION_DENIED]: 'Permission denied',
  [STATUS.FAILURE]: 'Failure',
  [STATUS.BAD_MESSAGE]: 'Bad message',
  [STATUS.OP_UNSUPPORTED]: 'Operation unsupported',
};

/** A reply sent as an SFTP status; thrown by handlers to answer an error. */
class SftpStatus extends Error {
  readonly status: number;
  constructor(status: number, message = MESSAGE[status] ?? 'Failure') {
    super(message);
    this.status = status;
  }
}

/** OpenSSH's errno_to_portable(). */
function statusOf(err: unknown): SftpStatus {
  if (err instanceof SftpStatus) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EBADF':
    case 'ELOOP':
      return new SftpStatus(STATUS.NO_SUCH_FILE);
    case 'EPERM':
    case 'EACCES':
    case 'EFAULT':
      return new SftpStatus(STATUS.PERMISSION_DENIED);
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return new SftpStatus(STATUS.BAD_MESSAGE);
    case 'ENOSYS':
      return new SftpStatus(STATUS.OP_UNSUPPORTED);
    default:
      return new SftpStatus(STATUS.FAILURE);
  }
}

/** Attributes as the client sent them: ssh2 leaves absent fields undefined. */
interface InAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: number;
  mtime?: number;
}

interface OutAttrs {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: number;
  mtime: number;
}

function toAttrs(st: FsStats): OutAttrs {
  return {
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An `ls -l` line like OpenSSH's ls_file(). */
function longname(name: string, st: FsStats): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? '-' : '?';
  const bits = 'rwxrwxrwx'
    .split('')
    .map((c, i) => (st.mode & (0o400 >> i) ? c : '-'))
    .join('');
  const d = st.mtime;
  const when = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return `${type}${bits} ${String(st.nlink).padStart(4)} ${String(st.uid).padEnd(8)} ${String(st.gid).padEnd(8)} ${String(st.size).padStart(8)} ${when} ${name}`;
}

/** Two SSH strings (uint32 length + UTF-8), as in posix-rename's request data. */
function readTwoStrings(data: Buffer | undefined): [string, string] {
  const out: string[] = [];
  let p = 0;
  for (let i = 0; i < 2; i++) {
    if (!data || p + 4 > data.length) throw new SftpStatus(STATUS.BAD_MESSAGE);
    const len = data.readUInt32BE(p);
    p += 4;
    if (p + len > data.length) throw new SftpStatus(STATUS.BAD_MESSAGE);
    out.push(data.toString('utf8', p, p + len));
    p += len;
  }
  return [out[0] ?? '', out[1] ?? ''];
}

/** An SSH_FXP_VERSION packet (with its length prefix) advertising `extensions`. */
function versionPacket(version: number, extensions: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of extensions) {
    for (const s of [name, value]) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      parts.push(len, b);
    }
  }
  const body = Buffer.concat([Buffer.from([2, 0, 0, 0, 0]), ...parts]);
  body.writeUInt32BE(version, 1);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** The ssh2 internals the VERSION swap relies on (ssh2 1.17, lib/protocol/SFTP.js). */
interface SftpInternals {
  push(data: Buffer | null): unknown;
  _version: number;
  outgoing: { id: number; window: number };
  _protocol: { channelData(id: number, data: Buffer): void };
}

/**
 * Makes an ssh2 server-side SFTP session advertise `extensions()` in its VERSION reply: while
 * ssh2 handles the client's INIT, its bare 9-byte VERSION packet is replaced by ours on the
 * way to the channel (window accounting adjusted). If the client's window cannot take the
 * larger packet, the bare one goes out and nothing is advertised.
 */
function advertiseExtensions(sftp: SFTPWrapper, extensions: () => Array<[string, string]>): void {
  const s = sftp as unknown as SftpInternals;
  const push = s.push;
  s.push = function (this: SftpInternals, data: Buffer | null) {
    if (s._version !== -1 || data === null) return push.call(this, data);
    const proto = s._protocol;
    const channelData = proto.channelData;
    proto.channelData = function (this: unknown, id: number, payload: Buffer) {
      if (id === s.outgoing.id && payload.length === 9 && payload[4] === 2) {
        const ours = versionPacket(payload.readUInt32BE(5), extensions());
        const extra = ours.length - payload.length;
        if (s.outgoing.window >= extra) {
          s.outgoing.window -= extra;
          payload = ours;
        }
      }
      return channelData.call(this, id, payload);
    };
    try {
      return push.call(this, data);
    } finally {
      proto.channelData = channelData;
    }
  };
}

type FileHandle = { kind: 'file'; path: string; fh: FsFileHandle };
/** `names` is loaded on the first READDIR and handed out in batches. */
type DirHandle = { kind: 'dir'; path: string; names: string[] | undefined };
type Handle = FileHandle | DirHandle;

export async function startFaultSftpServer(options: FaultSftpServerOptions): Promise<FaultSftpServer> {
  if (!isAbsolute(options.root)) throw new Error(`Fault SFTP server root must be absolute, got "${options.root}"`);
  const root = resolvePath(options.root);
  const password = options.password ?? FAULT_SFTP_PASSWORD;
  const rootStat = await fsp.stat(root).catch((cause: unknown) => {
    throw new Error(`Fault SFTP server root "${root}" is not accessible; create it first.`, { cause });
  });
  if (!rootStat.isDirectory()) throw new Error(`Fault SFTP server root "${root}" is not a directory.`);

  let authorizedKey: ParsedKey | undefined;
  if (options.authorizedPublicKey !== undefined) {
    const parsed = utils.parseKey(options.authorizedPublicKey);
    if (parsed instanceof Error)
      throw new Error(`authorizedPublicKey is not a public key: ${parsed.message}`, { cause: parsed });
    authorizedKey = parsed;
  }

  const hostKey = ed25519KeyPair();
  const hostPublicKeyBase64 = hostKey.public.split(' ')[1] ?? '';

  let faults: SftpFaults = {};
  let codesAsked = 0;
  let firstFactors = 0;
  const stats: Record<string, number> = {};
  const count = (key: string) => (stats[key] = (stats[key] ?? 0) + 1);
  let bytesWritten = 0;
  const sockets = new Set<Socket>();

  /** Maps an SFTP path to the local path, refusing anything outside `root`. */
  const local = (sftpPath: string): string => {
    const p = posix.normalize(posix.isAbsolute(sftpPath) ? sftpPath : posix.join(root, sftpPath));
    const trimmed = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
    if (trimmed !== root && !trimmed.startsWith(root + '/')) {
      throw new SftpStatus(STATUS.PERMISSION_DENIED, `Permission denied: ${sftpPath} is outside ${root}`);
    }
    return trimmed;
  };

  const serveSftp = (sftp: SFTPWrapper) => {
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
    advertiseExtensions(sftp, () => (faults.noPosixRename ? [] : [[POSIX_RENAME, '1']]));

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
        if (faults.hangAfterAuth) return; // never answered
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
      if (faults.closeChannelOnWriteMatching && h.path.search(faults.closeChannelOnWriteMatching) !== -1) {
        closeAll();
        sftp.end();
        return;
      }
      if (faults.failWritesMatching && h.path.search(faults.failWritesMatching) !== -1) {
        throw new SftpStatus(faults.failWriteStatus === 'failure' ? STATUS.FAILURE : STATUS.PERMISSION_DENIED);
      }
      let chunk = data;
      let full = false;
      const limit = faults.diskFullAfterBytes;
      if (limit !== undefined && bytesWritten + data.length > limit) {
        chunk = data.subarray(0, Math.max(0, limit - bytesWritten));
        full = true;
      }
      if (chunk.length > 0) {
        await h.fh.write(chunk, 0, chunk.length, offset);
        bytesWritten += chunk.length;
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
      if (faults.closeChannelOnReaddirMatching && h.path.search(faults.closeChannelOnReaddirMatching) !== -1) {
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
      if (faults.failMkdirMatching && path.search(faults.failMkdirMatching) !== -1)
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
      if (faults.failRenameMatching && oldPath.search(faults.failRenameMatching) !== -1)
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
    // ssh2 hands the handler (linkPath, targetPath) whatever the client's order (see top).
    on('SYMLINK', async (id, linkPath: string, targetPath: string) => {
      await fsp.symlink(targetPath, local(linkPath));
      ok(id);
    });

    on('EXTENDED', async (id, name: string, data: Buffer | undefined) => {
      count(name);
      if (name !== POSIX_RENAME || faults.noPosixRename) throw new SftpStatus(STATUS.OP_UNSUPPORTED);
      const [from, to] = readTwoStrings(data);
      if (faults.failRenameMatching && from.search(faults.failRenameMatching) !== -1)
        throw new SftpStatus(STATUS.FAILURE);
      await fsp.rename(local(from), local(to));
      ok(id);
    });
  };

  const code = options.oneTimeCode;
  const onConnection = (conn: Connection) => {
    conn.on('error', () => {});
    let firstFactor = false;
    /** The first factor passed: without a code to ask, that is the login. */
    const passed = (ctx: AuthContext) => {
      firstFactors++;
      if (code === undefined) return ctx.accept();
      firstFactor = true;
      return ctx.reject(['keyboard-interactive'], true);
    };
    conn.on('authentication', (ctx: AuthContext) => {
      if (ctx.username !== FAULT_SFTP_USER) return ctx.reject();
      if (firstFactor) {
        if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
        codesAsked++;
        return ctx.prompt([{ prompt: ONE_TIME_CODE_PROMPT, echo: false }], 'Two-factor authentication', (answers) =>
          answers.length === 1 && answers[0] === code ? ctx.accept() : ctx.reject(['keyboard-interactive']),
        );
      }
      if (ctx.method === 'password' && ctx.password === password) return passed(ctx);
      if (ctx.method === 'publickey' && authorizedKey) {
        const key = authorizedKey;
        if (!ctx.key.data.equals(key.getPublicSSH())) return ctx.reject();
        if (!ctx.signature || !ctx.blob) return ctx.accept(); // "would this key do?" probe
        return key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true ? passed(ctx) : ctx.reject();
      }
      return ctx.reject(authorizedKey ? ['password', 'publickey'] : ['password']);
    });
    conn.on('ready', () => {
      conn.on('session', (accept: () => Session) => {
        if (faults.hangAfterAuth) return; // neither accept nor reject
        const session = accept();
        session.on('sftp', (acceptSftp: () => SFTPWrapper) => {
          if (faults.hangAfterAuth) return;
          serveSftp(acceptSftp());
        });
      });
    });
  };

  const ssh = new Server({ hostKeys: [hostKey.private] }, onConnection);
  ssh.on('error', () => {});
  // Our own listener (handing sockets to ssh2) so close() can cut every connection.
  const tcp = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    ssh.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(0, '127.0.0.1', () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const address = tcp.address();
  if (!address || typeof address !== 'object') throw new Error('Fault SFTP server has no listening address');
  const port = address.port;
  let closing: Promise<void> | undefined;

  return {
    host: '127.0.0.1',
    port,
    user: FAULT_SFTP_USER,
    password,
    root,
    hostPublicKeyBase64,
    hostKeyType: 'ssh-ed25519',
    knownHostsLine: `[127.0.0.1]:${port} ssh-ed25519 ${hostPublicKeyBase64}`,
    get faults() {
      return faults;
    },
    set faults(next: SftpFaults) {
      faults = next;
    },
    stats,
    get bytesWritten() {
      return bytesWritten;
    },
    get connections() {
      return sockets.size;
    },
    get codesAsked() {
      return codesAsked;
    },
    get firstFactors() {
      return firstFactors;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

/**
 * An ssh2 client logged in to `srv` (its password, its pinned host key, TCP_NODELAY), added to
 * `clients` before it connects so that a test's cleanup ends it even when connecting fails.
 * `extra` overrides any connect option (a wrong password, another key, a refusing verifier).
 */
export async function connectClient(
  srv: FaultSftpServer,
  clients: SshClient[],
  extra: Partial<ConnectConfig> = {},
): Promise<SshClient> {
  const client = new Client();
  clients.push(client);
  client.on('error', () => {}); // later errors (a reset on close) must not crash the run
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({
      host: srv.host,
      port: srv.port,
      username: srv.user,
      password: srv.password,
      hostVerifier: (key: Buffer) => key.toString('base64') === srv.hostPublicKeyBase64,
      readyTimeout: 10_000,
      ...extra,
    });
    // Without TCP_NODELAY every SFTP round trip waits ~40 ms for a delayed ACK.
    client.setNoDelay(true);
  });
  return client;
}

/** The SFTP subsystem of a connected client. */
export function sftpOf(client: SshClient): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}
