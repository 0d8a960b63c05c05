/**
 * What every SFTP write shares: landing a new entry atomically under a temp name, and
 * turning a server error into an item error a person can act on.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Stats } from 'ssh2';
import { TEMP_PREFIX } from '../core/temp-name.ts';
import type { Entry } from '../core/tree.ts';
import { SFTP_STATUS, type SftpSession } from './sftp-session.ts';
import { classifyError, type ItemResult } from './transport.ts';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** What the SFTP operations work on: the session, and relative paths made absolute below the root. */
export interface SftpSite {
  readonly session: SftpSession;
  /** Absolute server path of a relative path; refuses anything that could leave the root. */
  abs(rel: string): string;
}

export function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

/** The entry an SFTP attribute block describes; undefined for kinds Ferry does not sync (and symlink targets are read separately). */
export function entryOf(attrs: Stats | { mode: number; size: number; mtime: number }): Entry | undefined {
  const type = attrs.mode & S_IFMT;
  if (type === S_IFDIR) return { kind: 'dir', mode: attrs.mode & 0o7777 };
  if (type === S_IFREG)
    return { kind: 'file', size: attrs.size, mtimeMs: attrs.mtime * 1000, mode: attrs.mode & 0o7777 };
  if (type === S_IFLNK) return { kind: 'symlink', target: '' };
  return undefined;
}

/** Rename `from` over `to` atomically where the server allows it. */
export async function renameOver(session: SftpSession, from: string, to: string): Promise<void> {
  if (session.hasPosixRename) return session.posixRename(from, to);
  // No posix-rename: plain SFTP rename refuses an existing target. Move the old file aside
  // under a temp name, move the new one in, then drop the old one. Readers may briefly see
  // no file, never a partial one.
  try {
    return await session.rename(from, to);
  } catch (err) {
    let st: Stats | undefined;
    try {
      st = await session.lstat(to);
    } catch {
      throw err;
    }
    if ((st.mode & S_IFMT) === S_IFDIR) throw err;
    const aside = posix.join(posix.dirname(to), tempName());
    await session.rename(to, aside);
    try {
      await session.rename(from, to);
    } catch (err2) {
      await session.rename(aside, to).catch(() => undefined);
      throw err2;
    }
    await session.unlink(aside).catch(() => undefined);
  }
}

/** A per-item error, with a better message than OpenSSH's bare "Failure" when the disk is full. */
export async function describeFailure(
  session: SftpSession,
  err: unknown,
  target: string,
): Promise<Pick<ItemResult, 'error' | 'errorCode'>> {
  const c = classifyError(err);
  if ((err as { code?: unknown })?.code === SFTP_STATUS.FAILURE && c.code === 'other') {
    const free = await session.freeBytes(posix.dirname(target)).catch(() => undefined);
    if (free !== undefined && free < 64 * 1024)
      return {
        error: `no space left on the server's disk at ${posix.dirname(target)} (${free} bytes free)`,
        errorCode: 'no-space',
      };
  }
  return { error: c.message, errorCode: c.code };
}
