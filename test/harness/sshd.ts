/**
 * Starts a throwaway OpenSSH sshd on 127.0.0.1 for tests and benchmarks.
 *
 * Everything lives in one temp directory: host key, client key, authorized_keys, a
 * known_hosts file that pins the host key, sshd_config, and the remote root the tests sync
 * into. Nothing of the system's sshd (its config, keys or port 22) is read or touched.
 * The server's user is the current user, except as root: root ignores permission bits, so a
 * server logged into as root could never refuse a write. Then the server's user is the
 * unprivileged `ferry-test` (see {@link serverAccount}), and the remote root, the home and
 * authorized_keys are owned by it. `SetEnv HOME=` gives the user a bare home so a slow
 * ~/.bashrc does not run on every rsync or ssh command.
 *
 * Tests that create files directly in the server's tree (as root, to simulate edits made on
 * the server) hand them to the server's user with {@link TestSshd.own}, as if that user had
 * made them.
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
  /**
   * How users may log in (default `publickey`). `password`: passwords too (checked against
   * /etc/shadow, no PAM). `keyboard-interactive`: only keyboard-interactive through PAM
   * (the usual PAM setup); public keys and plain password authentication are refused.
   */
  auth?: 'publickey' | 'password' | 'keyboard-interactive';
  /** Extra sshd_config lines. */
  extraConfig?: string[];
}

export interface TestSshd {
  readonly host: '127.0.0.1';
  port: number;
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  /** `user`'s login password; undefined when it has none the tests know (not running as root). */
  readonly password: string | undefined;
  /** Directory holding every file of this server. */
  readonly dir: string;
  /** A directory on the "server" tests may sync into (same machine, so tests can inspect it). */
  readonly remoteRoot: string;
  /** Private key (OpenSSH format, no passphrase) authorized for `user`. */
  readonly clientKeyPath: string;
  /** known_hosts that pins this server's host key as `[127.0.0.1]:port`. */
  readonly knownHostsPath: string;
  readonly hostPublicKeyPath: string;
  /**
   * Makes `path` and everything below it (not following symlinks) owned by the server's user,
   * as if it had created them: call after writing into the server's tree directly. A no-op
   * when the server's user is the current user.
   */
  own(path: string): void;
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

/** The unprivileged account the test sshd logs in as when the tests run as root. */
export const SERVER_USER = 'ferry-test';
/** Its login home (sshd starts sessions there), owned by it. */
const SERVER_HOME = '/var/lib/ferry-test';
/** Root-only: the account's password, set once when it is created. */
const PASSWORD_FILE = '/var/lib/ferry-test-harness/password';
/** Serializes creating the account: test files start their sshd's concurrently. */
const ACCOUNT_LOCK = '/var/lib/ferry-test-harness.lock';

export interface ServerAccount {
  name: string;
  uid: number;
  gid: number;
  password: string | undefined;
}

let account: ServerAccount | undefined;

/**
 * The account the test sshd logs in as. Not root: the current user, password unknown. Root:
 * `ferry-test`, a system account with `/bin/sh` and a random password (in a root-only file),
 * created on first use, under an flock so that concurrent test files neither race useradd
 * (which fails on a locked /etc/passwd) nor set two different passwords.
 */
export function serverAccount(): ServerAccount {
  if (account) return account;
  const me = userInfo();
  if (me.uid !== 0) return (account = { name: me.username, uid: me.uid, gid: me.gid, password: undefined });
  const script = [
    'set -eu',
    `if ! getent passwd "$U" >/dev/null; then`,
    `  useradd --system --user-group --shell /bin/sh --home-dir "$H" --no-create-home "$U"`,
    'fi',
    'mkdir -p "$H" && chown "$U:" "$H" && chmod 0755 "$H"',
    'mkdir -p -m 0700 "$(dirname "$P")"',
    'if [ ! -s "$P" ]; then',
    // A locked account (useradd leaves "!") cannot log in at all with UsePAM no, keys included.
    `  pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"`,
    `  printf '%s:%s\n' "$U" "$pw" | chpasswd`,
    '  (umask 077 && printf %s "$pw" >"$P.tmp") && mv "$P.tmp" "$P"',
    'fi',
  ].join('\n');
  try {
    execFileSync('flock', [ACCOUNT_LOCK, 'sh', '-c', script], {
      env: { ...process.env, U: SERVER_USER, H: SERVER_HOME, P: PASSWORD_FILE },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
    throw new Error(`Could not set up the unprivileged test user ${SERVER_USER}: ${why}`, { cause: err });
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, SERVER_USER], { encoding: 'utf8' }).trim());
  account = {
    name: SERVER_USER,
    uid: id('-u'),
    gid: id('-g'),
    password: readFileSync(PASSWORD_FILE, 'utf8'),
  };
  return account;
}

/** Gives `path` (recursively, symlinks themselves) to `who` unless that is already us. */
function chownTo(who: ServerAccount, path: string): void {
  if (who.uid === process.getuid?.()) return;
  execFileSync('chown', ['-R', '-h', `${who.uid}:${who.gid}`, path]);
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
  // sshd reads authorized_keys with the user's privileges.
  const who = serverAccount();
  for (const p of [home, remoteRoot, join(dir, 'authorized_keys')]) chownTo(who, p);

  const port = await freePort();
  const user = who.name;
  const auth = options.auth ?? 'publickey';
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
      // authorized_keys lives below /tmp (world-writable), which StrictModes refuses.
      'StrictModes no',
      ...(auth === 'keyboard-interactive'
        ? [
            'UsePAM yes',
            'PubkeyAuthentication no',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication yes',
            'AuthenticationMethods keyboard-interactive',
          ]
        : [
            'UsePAM no',
            'PubkeyAuthentication yes',
            `PasswordAuthentication ${auth === 'password' ? 'yes' : 'no'}`,
            'KbdInteractiveAuthentication no',
          ]),
      // Only when the tests are not root and so log in as themselves.
      `PermitRootLogin ${who.uid === 0 ? 'yes' : 'no'}`,
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
    uid: who.uid,
    gid: who.gid,
    password: who.password,
    dir,
    remoteRoot,
    clientKeyPath,
    knownHostsPath,
    hostPublicKeyPath: `${hostKey}.pub`,
    own(path: string) {
      chownTo(who, path);
    },
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
