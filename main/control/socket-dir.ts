/**
 * Where control sockets live and who may use them: `<state root>/control/`, one socket per
 * Ferry process (`ferry-<pid>-<random>.sock`), so a `ferry sync`, a `ferry daemon` and the
 * app sharing one state root each have their own, and `ferry status` asks them all.
 *
 * Anyone who can connect can pause folders and read paths, so the directory must be a real
 * directory (not a link) owned by this user and writable by nobody else, and so must each
 * socket (mode 0600). Anything else is refused with the reason, on both ends: a server does
 * not listen there, a client does not talk to it.
 */
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const CONTROL_DIR_NAME = 'control';
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export class UnsafeControlPath extends Error {}

export function controlDir(stateRoot: string): string {
  return join(stateRoot, CONTROL_DIR_NAME);
}

const uid = () => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/** Throws {@link UnsafeControlPath} saying why `path` (a directory or a socket) may not be used. */
export async function checkPrivate(path: string, kind: 'directory' | 'socket'): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink())
    throw new UnsafeControlPath(`${path} is a symbolic link; Ferry uses only a real ${kind} for its control socket.`);
  if (kind === 'directory' ? !st.isDirectory() : !st.isSocket())
    throw new UnsafeControlPath(`${path} is not a ${kind}.`);
  const me = uid();
  if (me !== undefined && st.uid !== me)
    throw new UnsafeControlPath(
      `${path} is owned by uid ${st.uid}, not by you (uid ${me}): another user could control or impersonate Ferry through it. Remove it, or use your own --state-dir.`,
    );
  if ((st.mode & 0o022) !== 0)
    throw new UnsafeControlPath(
      `${path} is ${st.mode & 0o002 ? 'world' : 'group'}-writable (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): other users could control or impersonate Ferry through it. Run chmod go-w on it, or remove it.`,
    );
}

/** Creates (mode 0700) and checks the control directory; returns a fresh socket path in it. */
export async function prepareSocketPath(stateRoot: string): Promise<string> {
  const dir = controlDir(stateRoot);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await checkPrivate(dir, 'directory');
  await removeStaleSockets(dir);
  const path = join(dir, `ferry-${process.pid}-${Math.random().toString(16).slice(2, 8)}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
    throw new UnsafeControlPath(
      `The control socket path ${path} is longer than the ${MAX_SOCKET_PATH} bytes a Unix socket allows; use a shorter --state-dir.`,
    );
  return path;
}

function pidOf(name: string): number | undefined {
  const m = /^ferry-(\d+)-[0-9a-f]+\.sock$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sockets left by Ferry processes that are gone (killed, crashed). */
async function removeStaleSockets(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) {
    const pid = pidOf(name);
    if (pid !== undefined && pid !== process.pid && !alive(pid)) await rm(join(dir, name), { force: true });
  }
}

/** The sockets of live Ferry processes under `stateRoot` (no directory: none). Throws when the directory is unsafe. */
export async function listSockets(stateRoot: string): Promise<string[]> {
  const dir = controlDir(stateRoot);
  try {
    await checkPrivate(dir, 'directory');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sock')).sort();
  return names.filter((n) => (pidOf(n) === undefined ? true : alive(pidOf(n) as number))).map((n) => join(dir, n));
}
