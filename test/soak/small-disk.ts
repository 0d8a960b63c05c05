/**
 * The small disk the soak's last folder syncs onto: a small tmpfs under the sshd's remote
 * directory that chaos fills to a real ENOSPC, or, where mounting is not allowed, the fault
 * SFTP server, whose "disk full" is simulated.
 */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { startFaultSftpServer, type FaultSftpServer } from '../harness/fault-sftp-server.ts';
import type { TestSshd } from '../harness/sshd.ts';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.ts';
import type { DiskFiller } from './chaos.ts';
import type { Mounts } from './mounts.ts';
import { MiB } from './soak-types.ts';

export interface SmallDisk {
  disk: DiskFiller;
  /** The fault SFTP server and its proxy, when no tmpfs could be mounted. */
  fault?: FaultSftpServer;
  faultProxy?: TcpProxy;
  /** The remote folder on the small disk. */
  smallRemote: string;
}

/** Sets the small disk up; what needs undoing goes to `cleanups`, a new proxy to `proxies`. */
export async function smallDisk(o: {
  work: string;
  sshd: TestSshd;
  short: boolean;
  /** Given when a tmpfs can be mounted. */
  mounts?: Mounts;
  cleanups: (() => Promise<void> | void)[];
  proxies: TcpProxy[];
}): Promise<SmallDisk> {
  const { work, sshd, short, mounts, cleanups, proxies } = o;
  let disk: DiskFiller | undefined;
  let fault: FaultSftpServer | undefined;
  let faultProxy: TcpProxy | undefined;
  let smallRemote: string;
  if (mounts) {
    const vol = join(sshd.remoteRoot, 'small-disk');
    // Owned like the rest of the server's tree, so the sshd's user can write to it.
    const { uid, gid } = statSync(sshd.remoteRoot);
    mounts.mountTmpfs(vol, (short ? 40 : 64) * MiB, { uid, gid });
    cleanups.push(() => mounts.release(vol));
    smallRemote = join(vol, 'folder');
    disk = tmpfsFiller(join(vol, 'ballast'));
  } else {
    const root = join(work, 'fault-sftp-root');
    mkdirSync(root);
    const server = await startFaultSftpServer({ root });
    fault = server;
    cleanups.push(() => server.close());
    faultProxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: server.port });
    const fp = faultProxy;
    cleanups.push(() => fp.close());
    proxies.push(fp);
    writeFileSync(
      join(work, 'fault_known_hosts'),
      `${server.knownHostsLine.replace(`:${server.port} `, `:${fp.port} `)}\n`,
    );
    smallRemote = join(root, 'folder');
    disk = {
      how: 'the fault SFTP server answers every WRITE "No space left on device"',
      fill: () => (server.faults = { ...server.faults, diskFullAfterBytes: server.bytesWritten }),
      drain: () => (server.faults = {}),
    };
  }

  return { disk: disk as DiskFiller, smallRemote, ...(fault ? { fault } : {}), ...(faultProxy ? { faultProxy } : {}) };
}

/** Fills a tmpfs by writing `ballast` until ENOSPC; drain removes it. */
function tmpfsFiller(ballast: string): DiskFiller {
  return {
    how: 'a small tmpfs under the remote directory, filled to ENOSPC by a ballast file outside the synced folder',
    fill() {
      const fd = openSync(ballast, 'w');
      const chunk = Buffer.alloc(MiB, 0);
      try {
        for (;;) {
          try {
            writeSync(fd, chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
              // Fill the last partial MiB too, a page at a time.
              try {
                for (;;) writeSync(fd, chunk, 0, 4096);
              } catch {
                return;
              }
            }
            throw err;
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    drain() {
      try {
        unlinkSync(ballast);
      } catch {
        // already gone
      }
    },
  };
}
