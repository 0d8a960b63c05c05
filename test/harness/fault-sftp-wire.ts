/**
 * The SFTP wire details of the fault SFTP server (see fault-sftp-server.ts): OpenSSH's status
 * messages and errno mapping, file attributes and `ls -l` lines as OpenSSH's sftp-server sends
 * them, request data parsing, and the VERSION packet swap that advertises extensions.
 */
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import type { Stats as FsStats } from 'node:fs';

const { utils } = ssh2;
export const STATUS = utils.sftp.STATUS_CODE;

/** OpenSSH's sftp-server status messages. */
export const MESSAGE: Record<number, string> = {
  [STATUS.OK]: 'Success',
  [STATUS.EOF]: 'End of file',
  [STATUS.NO_SUCH_FILE]: 'No such file',
  [STATUS.PERMISSION_DENIED]: 'Permission denied',
  [STATUS.FAILURE]: 'Failure',
  [STATUS.BAD_MESSAGE]: 'Bad message',
  [STATUS.OP_UNSUPPORTED]: 'Operation unsupported',
};

/** A reply sent as an SFTP status; thrown by handlers to answer an error. */
export class SftpStatus extends Error {
  readonly status: number;
  constructor(status: number, message = MESSAGE[status] ?? 'Failure') {
    super(message);
    this.status = status;
  }
}

/** OpenSSH's errno_to_portable(). */
export function statusOf(err: unknown): SftpStatus {
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
export interface InAttrs {
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

export function toAttrs(st: FsStats): OutAttrs {
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
export function longname(name: string, st: FsStats): string {
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
export function readTwoStrings(data: Buffer | undefined): [string, string] {
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
export function advertiseExtensions(sftp: SFTPWrapper, extensions: () => Array<[string, string]>): void {
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
