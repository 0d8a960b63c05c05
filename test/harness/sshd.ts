/**
 * Starts a throwaway OpenSSH sshd on 127.0.0.1 for tests and benchmarks.
 *
 * Everything lives in one temp directory: host key, client key, authorized_keys, a
 * known_hosts file that pins the host key, sshd_config, and the remote root the tests sync
 * into. Nothing of the system's sshd (its config, keys or port 22) is read or touched.
 * The server's user is the current user; `SetEnv HOME=` gives it a bare home so a slow
 * ~/.bashrc does not run on every rsync or ssh command.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  mkdtempSync,
  mkdirSync,
  writeFileSync,
  readFileSync,
  readdirSync,
  existsSync,
  rmSync,
  chmodSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface SshdOptions {
  /** Offer the SFTP subsystem (default true). False models a server with SFTP disabled. */
  sftp?: boolean;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
}

export interface TestSshd {
  readonly host: '127.0.0.1';
  port: number;
  readonly user: string;
  /** Directory holding every file of this server. */
  readonly dir: string;
  /** A directory on the "server" tests may sync into (same machine, so tests can inspect it). */
  readonly remoteRoot: string;
  /** Private key (OpenSSH format, no passphrase) authorized for `user`. */
  readonly clientKeyPath: string;
  /** known_hosts that pins this server's host key as `[127.0.0.1]:port`. */
  readonly knownHostsPath: string;
  readonly hostPublicKeyPath: string;
  /** Stop the server (idempotent). Established sessions are cut too. */
  stop(): Promise<void>;
  /** Start it again on the same port with the same keys. */
  start(): Promise<void>;
  /** Replace the host key with a fresh one (known_hosts keeps the old one) and restart. */
  rotateHostKey(): Promise<void>;
  /** Stop the server and delete its directory. */
  dispose(): Promise<void>;
}

export const SSHD_PATH = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p));

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function keygen(path: string, comment: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  if (!SSHD_PATH) throw new Error('OpenSSH sshd is not installed; run `apt-get install -y openssh-server`');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sshd-'));
  chmodSync(dir, 0o755);
  const home = join(dir, 'home');
  const remoteRoot = join(dir, 'remote');
  mkdirSync(home);
  mkdirSync(remoteRoot);
  // Debian's sshd refuses to start without its privilege separation directory.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const hostKey = join(dir, 'host_ed25519');
  const clientKeyPath = join(dir, 'client_ed25519');
  keygen(hostKey, 'ferry-test-host');
  keygen(clientKeyPath, 'ferry-test-client');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKeyPath}.pub`));
  chmodSync(join(dir, 'authorized_keys'), 0o600);

  const port = await freePort();
  const user = userInfo().username;
  const knownHostsPath = join(dir, 'known_hosts');
  const configPath = join(dir, 'sshd_config');
  let child: ChildProcess | undefined;

  const writeConfig = (p: number) => {
    const lines = [
      `Port ${p}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin yes',
      'MaxStartups 100:30:200',
      'MaxSessions 20',
      `SetEnv HOME=${home}`,
      'LogLevel ERROR',
      ...(options.sftp === false ? [] : ['Subsystem sftp internal-sftp']),
      ...(options.extraConfig ?? []),
    ];
    writeFileSync(configPath, lines.join('\n') + '\n');
  };
  const writeKnownHosts = () => {
    const pub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
    writeFileSync(knownHostsPath, `[127.0.0.1]:${server.port} ${pub[0]} ${pub[1]}\n`);
  };

  const server: TestSshd = {
    host: '127.0.0.1',
    port,
    user,
    dir,
    remoteRoot,
    clientKeyPath,
    knownHostsPath,
    hostPublicKeyPath: `${hostKey}.pub`,
    async start() {
      if (child) return;
      writeConfig(server.port);
      const proc = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child = proc;
      proc.once('exit', () => {
        if (child === proc) child = undefined;
      });
      await waitForBanner(server.port, () => (proc.exitCode !== null ? `sshd exited: ${stderr}` : undefined));
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      child = undefined;
      // sshd -D leaves forked session children alive after the listener exits: cut them too,
      // so "stopping the server" really drops connections.
      const sessions = proc.pid ? descendants(proc.pid) : [];
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      for (const pid of sessions) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
    async rotateHostKey() {
      await server.stop();
      keygen(hostKey, 'ferry-test-host-rotated');
      await server.start();
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  writeKnownHosts();
  return server;
}

/** Every live descendant of `root`, read from /proc (Linux). */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      /* exited while we looked */
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parentOf) if (ppid === pid) (found.push(child), walk(child));
  };
  walk(root);
  return found;
}

async function waitForBanner(port: number, failed: () => string | undefined): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(reason);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
