/**
 * What the add form does before a folder exists: test a connection, show and pin the host
 * key, list and create remote directories.
 *
 * Invariants:
 * - Nothing here accepts a host key on its own: endpoints use the `strict` policy. A key is
 *   pinned only by {@link ConnectionService.trustHostKey}, and only the exact key whose
 *   fingerprint the user was shown by the last test of that host and port.
 * - A changed or revoked key is never pinned from the app (the blocking warning tells the
 *   user how to remove the old line after checking with the server's administrator).
 * - Secrets in requests are used for the connection and dropped; results carry none.
 */
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import type {
  ConnectionRequest,
  HostKeyInfo,
  RemoteDirListing,
  TestConnectionResult,
  TrustHostKeyRequest,
} from '../ipc/contract.ts';
import { connectSsh, openSftp, type ConnectOptions, type PromptAnswerer } from '../ssh/connect.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import { HostKeyError, fingerprintSha256, keyTypeOfBlob, verifyHostKey } from '../ssh/host-key.ts';
import { appendKnownHost, formatKnownHostsLine, lookupHostKeys } from '../ssh/known-hosts.ts';
import { resolveEndpoint } from '../ssh/resolve-endpoint.ts';
import { normalizeRemotePath } from '../ssh/target.ts';

export interface SshEnvironment {
  /** known_hosts checked and appended to; default ~/.ssh/known_hosts. */
  knownHostsPath?: string;
  /** ssh config read for aliases; default ~/.ssh/config; null reads none. */
  sshConfigPath?: string | null;
  homeDir?: string;
  /** Per connection attempt; default 15 s. */
  connectTimeoutMs?: number;
  /** Asks the window for login prompts only a person can answer (prompt-broker.ts). */
  answerPrompts?: PromptAnswerer;
}

/** The target spec the CLI would take for this request (`ssh://[user@]host[:port]/path`). */
export function targetSpecOf(req: Pick<ConnectionRequest, 'host' | 'user' | 'port' | 'remotePath'>): string {
  const host = req.host.includes(':') ? `[${req.host}]` : req.host;
  return `ssh://${req.user ? `${req.user}@` : ''}${host}${req.port ? `:${req.port}` : ''}${normalizeRemotePath(req.remotePath)}`;
}

/** Resolves a request into an endpoint (ssh config applied), host key policy strict. */
export function endpointFor(req: ConnectionRequest, env: SshEnvironment): SshEndpoint {
  const auth = req.auth;
  return resolveEndpoint(targetSpecOf(req), {
    hostKeyPolicy: 'strict',
    ...(env.knownHostsPath !== undefined ? { knownHostsPath: env.knownHostsPath } : {}),
    ...(env.sshConfigPath !== undefined ? { sshConfigPath: env.sshConfigPath } : {}),
    ...(env.homeDir !== undefined ? { homeDir: env.homeDir } : {}),
    ...(auth.kind === 'key'
      ? {
          identityFiles: [auth.keyPath],
          agentSocket: null,
          ...(auth.passphrase ? { passphrase: auth.passphrase } : {}),
        }
      : {}),
    ...(auth.kind === 'password' ? { password: auth.password, agentSocket: null } : {}),
  });
}

interface PresentedKey {
  blob: Buffer;
  keyType: string;
  fingerprint: string;
}

/** Connects only far enough to see the server's host key, then hangs up (no authentication). */
function probeHostKey(ep: SshEndpoint, timeoutMs: number): Promise<PresentedKey> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let key: Buffer | undefined;
    const done = (err?: Error) => {
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end();
      if (key) resolve({ blob: key, keyType: keyTypeOfBlob(key), fingerprint: fingerprintSha256(key) });
      else
        reject(err ?? new Error(`The server ${ep.host}:${ep.port} closed the connection before showing its host key.`));
    };
    client.on('error', (err) =>
      done(
        new Error(
          `Could not reach ${ep.host}:${ep.port}: ${err.message}. Check the host name and port, and that sshd runs there.`,
          { cause: err },
        ),
      ),
    );
    client.on('close', () => done());
    client.connect({
      host: ep.host,
      port: ep.port,
      username: ep.user,
      readyTimeout: timeoutMs,
      hostVerifier: (blob: Buffer): boolean => {
        key = Buffer.from(blob);
        return false;
      },
    });
  });
}

function withSftp<T>(ep: SshEndpoint, opts: ConnectOptions, use: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
  return connectSsh(ep, opts).then(async (client) => {
    try {
      return await use(await openSftp(client));
    } finally {
      client.end();
    }
  });
}

function sftpCall<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

export class ConnectionService {
  private readonly env: SshEnvironment;
  /** host:port -> the key the last test saw there. */
  private readonly seen = new Map<string, PresentedKey>();

  constructor(env: SshEnvironment = {}) {
    this.env = env;
  }

  private get timeoutMs(): number {
    return this.env.connectTimeoutMs ?? 15_000;
  }

  private get connectOptions(): ConnectOptions {
    const { answerPrompts } = this.env;
    return { readyTimeoutMs: this.timeoutMs, ...(answerPrompts ? { answerPrompts } : {}) };
  }

  async testConnection(req: ConnectionRequest): Promise<TestConnectionResult> {
    let ep: SshEndpoint;
    try {
      ep = endpointFor(req, this.env);
    } catch (err) {
      return { outcome: 'failed', message: (err as Error).message };
    }
    if (ep.jump?.length) return this.testThroughJump(ep);
    let presented: PresentedKey;
    try {
      presented = await probeHostKey(ep, this.timeoutMs);
    } catch (err) {
      return { outcome: 'failed', message: (err as Error).message };
    }
    this.seen.set(`${ep.host}:${ep.port}`, presented);
    const hostKey: HostKeyInfo = {
      host: ep.host,
      port: ep.port,
      keyType: presented.keyType,
      fingerprint: presented.fingerprint,
      knownHostsPath: ep.knownHostsPath,
    };
    const verdict = await verifyHostKey({
      knownHostsPath: ep.knownHostsPath,
      host: ep.host,
      port: ep.port,
      policy: 'strict',
      presentedKey: presented.blob,
    });
    if (!verdict.ok) return hostKeyResult(verdict.error, hostKey);
    return this.login(ep, hostKey);
  }

  private async login(ep: SshEndpoint, hostKey: HostKeyInfo): Promise<TestConnectionResult> {
    try {
      return await withSftp(ep, this.connectOptions, async (sftp) => {
        const exists = await sftpCall<unknown>((cb) => sftp.stat(ep.remoteRoot, cb)).then(
          () => true,
          () => false,
        );
        return { outcome: 'ok', hostKey, remotePathExists: exists, sftp: true } as const;
      });
    } catch (err) {
      if (err instanceof HostKeyError) return hostKeyResult(err, hostKey);
      return { outcome: 'failed', message: (err as Error).message };
    }
  }

  /** Through ProxyJump the key cannot be probed directly; report what connecting says. */
  private async testThroughJump(ep: SshEndpoint): Promise<TestConnectionResult> {
    try {
      const exists = await withSftp(ep, this.connectOptions, (sftp) =>
        sftpCall<unknown>((cb) => sftp.stat(ep.remoteRoot, cb)).then(
          () => true,
          () => false,
        ),
      );
      // Connected, so known_hosts holds the key that was checked: show that one.
      const known = lookupHostKeys(await readFile(ep.knownHostsPath, 'utf8').catch(() => ''), ep.host, ep.port).keys[0];
      const hostKey: HostKeyInfo = {
        host: ep.host,
        port: ep.port,
        keyType: known?.type ?? '',
        fingerprint: known ? fingerprintSha256(Buffer.from(known.keyBase64, 'base64')) : '',
        knownHostsPath: ep.knownHostsPath,
      };
      return { outcome: 'ok', hostKey, remotePathExists: exists, sftp: true };
    } catch (err) {
      if (err instanceof HostKeyError && err.kind === 'unknown') {
        return {
          outcome: 'failed',
          message: `${err.message} (Hosts behind a ProxyJump are pinned with ssh or ssh-keyscan, not from the app.)`,
        };
      }
      if (err instanceof HostKeyError) {
        return hostKeyResult(err, {
          host: err.host,
          port: err.port,
          keyType: '',
          fingerprint: err.presentedFingerprint,
          knownHostsPath: err.knownHostsPath,
        });
      }
      return { outcome: 'failed', message: (err as Error).message };
    }
  }

  /** Pins the key the last test of host:port saw, if its fingerprint is the one given. */
  async trustHostKey(req: TrustHostKeyRequest): Promise<void> {
    const key = this.seen.get(`${req.host}:${req.port}`);
    if (!key || key.fingerprint !== req.fingerprint) {
      throw new Error(
        `The host key of ${req.host}:${req.port} was not the one shown (${req.fingerprint}); test the connection again and compare the fingerprint before trusting it.`,
      );
    }
    const knownHostsPath =
      this.env.knownHostsPath ??
      endpointFor({ host: req.host, port: req.port, auth: { kind: 'agent' }, remotePath: '/' }, this.env)
        .knownHostsPath;
    const verdict = await verifyHostKey({
      knownHostsPath,
      host: req.host,
      port: req.port,
      policy: 'strict',
      presentedKey: key.blob,
    });
    if (verdict.ok) return;
    if (verdict.error.kind !== 'unknown') throw new Error(verdict.error.message);
    await appendKnownHost(
      knownHostsPath,
      formatKnownHostsLine(req.host, req.port, key.keyType, key.blob.toString('base64')),
    );
  }

  async browseRemote(req: ConnectionRequest): Promise<RemoteDirListing> {
    const ep = endpointFor(req, this.env);
    return withSftp(ep, this.connectOptions, async (sftp) => {
      let list;
      try {
        list = await sftpCall<ssh2.FileEntryWithStats[]>((cb) => sftp.readdir(ep.remoteRoot, cb));
      } catch (err) {
        throw new Error(
          `Could not list ${ep.remoteRoot} on ${ep.host}: ${(err as Error).message}. Check that it exists and that ${ep.user} may read it.`,
          { cause: err },
        );
      }
      const dirs = list
        .filter((e) => e.attrs.isDirectory() && e.filename !== '.' && e.filename !== '..')
        .map((e) => e.filename);
      return { path: ep.remoteRoot, dirs: dirs.sort() };
    });
  }

  async makeRemoteDir(req: ConnectionRequest): Promise<void> {
    const ep = endpointFor(req, this.env);
    await withSftp(ep, this.connectOptions, async (sftp) => {
      try {
        await sftpCall<void>((cb) => sftp.mkdir(ep.remoteRoot, (err) => cb(err, undefined)));
      } catch (err) {
        throw new Error(
          `Could not create ${ep.remoteRoot} on ${ep.host}: ${(err as Error).message}. Check that the parent exists and that ${ep.user} may write to it.`,
          { cause: err },
        );
      }
    });
  }
}

function hostKeyResult(err: HostKeyError, hostKey: HostKeyInfo): TestConnectionResult {
  switch (err.kind) {
    case 'unknown':
      return { outcome: 'unknown-host-key', hostKey };
    case 'changed':
      return { outcome: 'changed-host-key', hostKey, knownFingerprints: err.knownFingerprints, message: err.message };
    case 'revoked':
      return { outcome: 'revoked-host-key', hostKey, message: err.message };
  }
}
