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
 *
 * Modules: this one starts the server (host key, logins, listener) and connects clients to it;
 * fault-sftp-session.ts holds the SFTP request handlers and the fault rules they obey;
 * fault-sftp-wire.ts holds the SFTP wire details (statuses, attributes, the VERSION swap).
 */
import ssh2 from 'ssh2';
import { ed25519KeyPair } from './ed25519-key-pair.ts';
import type { AuthContext, ConnectConfig, Connection, ParsedKey, Session, SFTPWrapper } from 'ssh2';
import { createServer, type Socket } from 'node:net';
import * as fsp from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { serveSftp, type FaultSftpState, type SftpFaults } from './fault-sftp-session.ts';

export type { SftpFaults };

const { Client, Server, utils } = ssh2;
export type SshClient = InstanceType<typeof Client>;

export const FAULT_SFTP_USER = 'u';
export const FAULT_SFTP_PASSWORD = 'pw';

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

  const state: FaultSftpState = { root, faults: {}, stats: {}, bytesWritten: 0 };
  let codesAsked = 0;
  let firstFactors = 0;
  const sockets = new Set<Socket>();

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
        if (state.faults.hangAfterAuth) return; // neither accept nor reject
        const session = accept();
        session.on('sftp', (acceptSftp: () => SFTPWrapper) => {
          if (state.faults.hangAfterAuth) return;
          serveSftp(acceptSftp(), state);
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
      return state.faults;
    },
    set faults(next: SftpFaults) {
      state.faults = next;
    },
    stats: state.stats,
    get bytesWritten() {
      return state.bytesWritten;
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
