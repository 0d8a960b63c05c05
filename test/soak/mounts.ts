/**
 * The two server-side file system faults of the soak, made with real mounts (root only):
 * a small tmpfs that chaos fills up (a real ENOSPC, as on a full disk), and a read-only
 * bind mount over a folder's remote directory (a real EROFS). Running as root makes
 * permission bits meaningless, so `chmod a-w` would prove nothing; a read-only mount is
 * refused to root too.
 *
 * Every mount is remembered and undone by {@link Mounts.releaseAll}, which also runs when
 * the process exits, so an interrupted soak does not leave mounts behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

export class Mounts {
  private readonly active: string[] = [];
  private readonly onExit = () => this.releaseAll();

  constructor() {
    process.once('exit', this.onExit);
  }

  /** Whether this machine lets us mount (root, and not a container without CAP_SYS_ADMIN). */
  static probe(): { tmpfs: boolean; readOnlyBind: boolean; why?: string } {
    if (process.getuid?.() !== 0) return { tmpfs: false, readOnlyBind: false, why: 'not running as root' };
    const dir = mkdtempSync(join(tmpdir(), 'ferry-mount-probe-'));
    const result = { tmpfs: false, readOnlyBind: false, why: undefined as string | undefined };
    try {
      try {
        run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
        run('umount', [dir]);
        result.tmpfs = true;
      } catch (err) {
        result.why = `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
      }
      try {
        run('mount', ['--bind', dir, dir]);
        try {
          run('mount', ['-o', 'remount,bind,ro', dir]);
          result.readOnlyBind = true;
        } finally {
          run('umount', [dir]);
        }
      } catch (err) {
        result.why ??= `read-only bind mount failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return result;
  }

  /** A tmpfs of `sizeBytes` on `dir`, its root owned by `owner` (default root). */
  mountTmpfs(dir: string, sizeBytes: number, owner?: { uid: number; gid: number }): void {
    mkdirSync(dir, { recursive: true });
    const own = owner ? `,uid=${owner.uid},gid=${owner.gid}` : '';
    run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755${own}`, 'tmpfs', dir]);
    this.active.push(dir);
  }

  /** Makes `dir` read-only with a read-only bind mount over it; throws, with nothing left mounted, when it can't. */
  bindReadOnly(dir: string): void {
    run('mount', ['--bind', dir, dir]);
    this.active.push(dir);
    try {
      run('mount', ['-o', 'remount,bind,ro', dir]);
    } catch (err) {
      this.release(dir);
      throw err;
    }
  }

  /** Undoes the latest mount on `dir`; lazily when it is busy. */
  release(dir: string): void {
    const i = this.active.lastIndexOf(dir);
    if (i < 0) return;
    this.active.splice(i, 1);
    try {
      run('umount', [dir]);
    } catch {
      run('umount', ['-l', dir]);
    }
  }

  releaseAll(): void {
    while (this.active.length) {
      const dir = this.active[this.active.length - 1] as string;
      try {
        this.release(dir);
      } catch {
        // release() already forgot it; nothing more can be done about a mount that will not go
      }
    }
    process.removeListener('exit', this.onExit);
  }
}
