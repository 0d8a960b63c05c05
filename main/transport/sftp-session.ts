/**
 * Promise wrappers over ssh2's callback SFTP client, limited to what the transport uses.
 * Errors keep ssh2's numeric SFTP status in `code` (2 no such file, 3 permission denied,
 * 4 failure) and gain the remote path in the message.
 */
import type { FileEntryWithStats, InputAttributes, OpenMode, SFTPWrapper, Stats } from 'ssh2';
import type { ListedEntry } from './remote-list.ts';

export const SFTP_STATUS = { EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, OP_UNSUPPORTED: 8 } as const;

export class SftpError extends Error {
  readonly code: number | string | undefined;
  readonly remotePath: string;
  constructor(op: string, remotePath: string, cause: unknown) {
    const c = cause as { message?: string; code?: number | string };
    super(`${op} ${remotePath} failed on the server: ${c?.message ?? String(cause)}`, { cause });
    this.code = c?.code;
    this.remotePath = remotePath;
  }
}

function call<T>(
  session: SftpSession,
  op: string,
  path: string,
  fn: (cb: (err: Error | null | undefined, v?: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    // ssh2 never answers a request sent on a closed channel: fail it here instead of hanging.
    if (session.dead) return reject(new SftpError(op, path, session.dead));
    // Nor one it sends itself while the channel dies: readdir(path) closes its handle after an
    // error and waits for that reply, which never comes. Whatever is pending fails at death.
    const fail = (err: Error) => reject(new SftpError(op, path, err));
    session.waitFor(fail);
    try {
      fn((err, v) => {
        session.answered(fail);
        if (err) reject(new SftpError(op, path, err));
        else resolve(v as T);
      });
    } catch (err) {
      session.answered(fail);
      reject(new SftpError(op, path, err));
    }
  });
}

export function isNoSuchFile(err: unknown): boolean {
  return (err as { code?: unknown })?.code === SFTP_STATUS.NO_SUCH_FILE;
}

export function isPermissionDenied(err: unknown): boolean {
  return (err as { code?: unknown })?.code === SFTP_STATUS.PERMISSION_DENIED;
}

export interface SftpSessionOptions {
  /**
   * A server that answers none of the pending requests for this long is taken for dead (the
   * connection's keepalive does not catch a server whose SSH layer still answers while its
   * SFTP side hangs). Default 120 s.
   */
  requestTimeoutMs?: number;
  /**
   * Lists a whole server directory tree in one go over the same SSH connection (an exec
   * channel, remote-list.ts), where the server allows it; the scan uses it for full scans and
   * lists over SFTP when it is absent or answers false.
   */
  listTree?: TreeLister;
}

/** See {@link SftpSessionOptions.listTree}. */
export type TreeLister = (dir: string, onEntry: (e: ListedEntry) => void) => Promise<boolean>;

export class SftpSession {
  readonly sftp: SFTPWrapper;
  /** Set once the channel has closed (or the server stopped answering); every later request fails at once. */
  dead: Error | undefined;
  /** Rejecters of the requests still waiting for an answer. */
  private readonly pending = new Set<(err: Error) => void>();
  private readonly requestTimeoutMs: number;
  private lastAnswerAt = 0;
  private watchdog: NodeJS.Timeout | undefined;
  readonly listTree: TreeLister | undefined;

  constructor(sftp: SFTPWrapper, opts: SftpSessionOptions = {}) {
    this.sftp = sftp;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 120_000;
    this.listTree = opts.listTree;
    sftp.once('close', () => this.die(new Error('the SFTP channel was closed')));
    sftp.once('end', () => this.die(new Error('the SFTP channel was closed')));
  }

  /** Fails every pending request (and every later one) with `reason`. */
  private die(reason: Error): void {
    const dead = (this.dead ??= reason);
    const pending = [...this.pending];
    this.pending.clear();
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    for (const fail of pending) fail(dead);
  }

  /** A request was sent; `fail` rejects it. */
  waitFor(fail: (err: Error) => void): void {
    if (this.pending.size === 0) this.lastAnswerAt = Date.now();
    this.pending.add(fail);
    if (this.watchdog) return;
    const every = Math.max(10, Math.min(5000, this.requestTimeoutMs / 4));
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastAnswerAt < this.requestTimeoutMs) return;
      const seconds = Math.round(this.requestTimeoutMs / 1000);
      this.die(new Error(`the server answered no SFTP request for ${seconds} s`));
      this.sftp.end();
    }, every);
    this.watchdog.unref();
  }

  /** The request `fail` belongs to was answered. */
  answered(fail: (err: Error) => void): void {
    this.lastAnswerAt = Date.now();
    this.pending.delete(fail);
    if (this.pending.size === 0) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }

  /** Throws when the channel is gone: per-item errors after that are the transport's death, not the items'. */
  throwIfDead(): void {
    if (this.dead) throw new Error(`Lost the SFTP session: ${this.dead.message}`, { cause: this.dead });
  }

  /** Server supports atomic rename-over (OpenSSH's posix-rename extension). */
  get hasPosixRename(): boolean {
    return Boolean(
      (this.sftp as unknown as { _extensions: Record<string, string> })._extensions?.['posix-rename@openssh.com'],
    );
  }

  get hasStatvfs(): boolean {
    return Boolean(
      (this.sftp as unknown as { _extensions: Record<string, string> })._extensions?.['statvfs@openssh.com'],
    );
  }

  /** Largest data length of one WRITE request the server accepts. */
  get maxWriteLength(): number {
    return (this.sftp as unknown as { _maxWriteLen?: number })._maxWriteLen ?? 32 * 1024;
  }

  lstat(path: string): Promise<Stats> {
    return call(this, 'lstat', path, (cb) => this.sftp.lstat(path, cb));
  }
  readdir(path: string): Promise<FileEntryWithStats[]> {
    return call(this, 'readdir', path, (cb) => this.sftp.readdir(path, cb));
  }
  readlink(path: string): Promise<string> {
    return call(this, 'readlink', path, (cb) => this.sftp.readlink(path, cb));
  }
  open(path: string, flags: OpenMode, attrs: InputAttributes): Promise<Buffer> {
    return call(this, 'open', path, (cb) => this.sftp.open(path, flags, attrs, cb));
  }
  /** Reads up to `buf.length` bytes at `position`; resolves with how many were read (0 at the end). */
  read(handle: Buffer, buf: Buffer, position: number, path: string): Promise<number> {
    return call(this, 'read', path, (cb) =>
      this.sftp.read(handle, buf, 0, buf.length, position, (err, bytesRead) => cb(err, bytesRead)),
    );
  }
  write(handle: Buffer, buf: Buffer, position: number, path: string): Promise<void> {
    return call(this, 'write', path, (cb) => this.sftp.write(handle, buf, 0, buf.length, position, (err) => cb(err)));
  }
  fstat(handle: Buffer, path: string): Promise<Stats> {
    return call(this, 'stat', path, (cb) => this.sftp.fstat(handle, cb));
  }
  fsetstat(handle: Buffer, attrs: InputAttributes, path: string): Promise<void> {
    return call(this, 'setstat', path, (cb) => this.sftp.fsetstat(handle, attrs, (err) => cb(err)));
  }
  close(handle: Buffer, path: string): Promise<void> {
    return call(this, 'close', path, (cb) => this.sftp.close(handle, (err) => cb(err)));
  }
  setstat(path: string, attrs: InputAttributes): Promise<void> {
    return call(this, 'setstat', path, (cb) => this.sftp.setstat(path, attrs, (err) => cb(err)));
  }
  mkdir(path: string, attrs: InputAttributes): Promise<void> {
    return call(this, 'mkdir', path, (cb) => this.sftp.mkdir(path, attrs, (err) => cb(err)));
  }
  rmdir(path: string): Promise<void> {
    return call(this, 'rmdir', path, (cb) => this.sftp.rmdir(path, (err) => cb(err)));
  }
  unlink(path: string): Promise<void> {
    return call(this, 'remove', path, (cb) => this.sftp.unlink(path, (err) => cb(err)));
  }
  symlink(target: string, linkPath: string): Promise<void> {
    return call(this, 'symlink', linkPath, (cb) => this.sftp.symlink(target, linkPath, (err) => cb(err)));
  }
  /** Plain SFTP rename: fails when `to` exists (OpenSSH semantics). */
  rename(from: string, to: string): Promise<void> {
    return call(this, 'rename', from, (cb) => this.sftp.rename(from, to, (err) => cb(err)));
  }
  /** Atomic rename over an existing target; only when {@link hasPosixRename}. */
  posixRename(from: string, to: string): Promise<void> {
    return call(this, 'rename', from, (cb) => this.sftp.ext_openssh_rename(from, to, (err) => cb(err)));
  }
  /** Free bytes available to the user on the file system holding `path`. */
  async freeBytes(path: string): Promise<number | undefined> {
    if (!this.hasStatvfs) return undefined;
    const st = await call<{ f_bavail: number; f_frsize: number }>(this, 'statvfs', path, (cb) =>
      this.sftp.ext_openssh_statvfs(path, cb as never),
    );
    return st.f_bavail * st.f_frsize;
  }
}
