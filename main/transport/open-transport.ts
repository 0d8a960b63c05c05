/**
 * Opens the transports for one folder: SFTP over ssh2 when the server has it, rsync over
 * ssh subprocesses when it does not (or when configured), and rsync as the delta path for
 * large modified files next to SFTP.
 *
 * The host key is always verified through ssh2 first (so `accept-new` pins it and a changed
 * key gives the two-fingerprint error), even for rsync-only folders; rsync's own ssh then
 * checks the same known_hosts file strictly.
 */
import type { Client } from 'ssh2';
import { connectSsh, neededPerson, openSftp, SshConnectError, type PromptAnswerer } from '../ssh/connect.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import { TokenBucket } from './rate-limit.ts';
import { treeLister } from './remote-list.ts';
import { SftpSession } from './sftp-session.ts';
import { SftpTransport } from './sftp-transport.ts';
import { sshExec, type RemoteExec } from './ssh-exec.ts';
import type { AsideSettler, RemoteTransport } from './transport.ts';

export type TransportChoice = 'auto' | 'sftp' | 'rsync';

export interface OpenTransports {
  main: RemoteTransport;
  /** rsync, for large modified files (delta transfer); absent when main is rsync or rsync is unusable. */
  delta?: RemoteTransport;
  /** Resolves when the underlying connection drops (SFTP only). */
  closed: Promise<Error | undefined>;
  /** Runs a command on the server over this connection (absent for rsync-only targets). */
  exec?: RemoteExec;
  /**
   * Closes the transports. `failed`: they are being dropped after an error, so a connection
   * shared with other targets takes no new ones (connection-pool.ts); a connection of its own
   * ends either way.
   */
  close(how?: { failed?: boolean }): Promise<void>;
}

/** Loaded on demand: most folders never need rsync. */
async function rsyncTransport(
  endpoint: SshEndpoint,
  localRoot: string,
  bwlimitBps?: number,
  settler?: AsideSettler,
): Promise<RemoteTransport> {
  const { createRsyncTransport } = await import('./rsync-transport.ts');
  return createRsyncTransport(endpoint, localRoot, { bwlimitBps, settler });
}

export function whenClosed(client: Client): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let lastError: Error | undefined;
    client.on('error', (err) => (lastError = err));
    client.once('close', () => resolve(lastError ?? new Error('the SSH connection was closed')));
  });
}

/** Opens a folder's transports; the engine takes one of these so tests can pass a fake. */
export type TransportOpener = (
  endpoint: SshEndpoint,
  localRoot: string,
  choice: TransportChoice,
  opts?: TransportOpenOptions,
) => Promise<OpenTransports>;

export interface TransportOpenOptions {
  sftpStartTimeoutMs?: number;
  signal?: AbortSignal;
  /** Upload limit in bytes per second: rsync's --bwlimit, a token bucket for SFTP. */
  bwlimitBps?: number;
  /** Asks a person for keyboard-interactive prompts such as a one-time code (connect.ts). */
  answerPrompts?: PromptAnswerer;
}

export async function openTransports(
  endpoint: SshEndpoint,
  localRoot: string,
  choice: TransportChoice,
  opts: TransportOpenOptions = {},
): Promise<OpenTransports> {
  const client = await connectSsh(endpoint, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.answerPrompts ? { answerPrompts: opts.answerPrompts } : {}),
  });
  return transportsOver(
    { client, closed: whenClosed(client), release: () => client.end(), shared: false },
    endpoint,
    localRoot,
    choice,
    opts,
  );
}

/** An authenticated connection the transports run over, and how to let go of it. */
export interface SshConnection {
  client: Client;
  /** Resolves when the connection drops (see {@link whenClosed}). */
  closed: Promise<Error | undefined>;
  /** This user is done with the connection (a connection of its own: ends it). */
  release(opts?: { failed?: boolean }): void;
  /** Other targets use it too: a refused SFTP channel is then no sign the server lacks SFTP. */
  shared: boolean;
}

/** A second SFTP channel was refused on a shared connection (MaxSessions): open one of its own. */
export class SharedChannelRefused extends Error {}

/** {@link openTransports} over a connection already open (connection-pool.ts shares one between targets). */
export async function transportsOver(
  conn: SshConnection,
  endpoint: SshEndpoint,
  localRoot: string,
  choice: TransportChoice,
  opts: TransportOpenOptions = {},
): Promise<OpenTransports> {
  const { client, closed } = conn;
  // rsync's ssh never prompts: it cannot log in where the login needed a person (a one-time code).
  const rsyncUsable =
    (endpoint.password === undefined || endpoint.identityFiles.length > 0 || endpoint.agentSocket !== null) &&
    !neededPerson(client);
  if (choice === 'rsync') {
    conn.release();
    const main = await rsyncTransport(endpoint, localRoot, opts.bwlimitBps);
    return { main, closed: new Promise(() => undefined), close: () => main.close() };
  }
  let sftp;
  let lost = false;
  const onClose = () => (lost = true);
  client.once('close', onClose);
  try {
    sftp = await openSftp(client, opts.sftpStartTimeoutMs);
  } catch (err) {
    // Only a server that refuses SFTP gets rsync instead. A connection lost (or a server gone
    // silent) while SFTP was starting is a connection failure: reconnect. Falling back then
    // left a healthy SFTP server on rsync until the next reconnect.
    if (lost || (err as { code?: unknown }).code === 'ETIMEDOUT') {
      conn.release({ failed: true });
      const kind = lost ? 'closed' : 'timeout';
      throw new SshConnectError(
        kind,
        endpoint.host,
        endpoint.port,
        `Lost the connection to ${endpoint.displayName} while starting SFTP: ${(err as Error).message}`,
        { cause: err },
      );
    }
    conn.release();
    if (conn.shared) throw new SharedChannelRefused((err as Error).message, { cause: err });
    if (choice === 'sftp')
      throw new Error(
        `${endpoint.displayName} does not offer SFTP (${(err as Error).message}). Use --transport rsync or auto, or enable the sftp Subsystem in its sshd_config.`,
        { cause: err },
      );
    const main = await rsyncTransport(endpoint, localRoot, opts.bwlimitBps);
    return { main, closed: new Promise(() => undefined), close: () => main.close() };
  } finally {
    client.removeListener('close', onClose);
  }
  let released = false;
  let failed = false;
  const release = () => {
    if (released) return;
    released = true;
    // A shared connection outlives this target's SFTP channel: close the channel itself.
    if (conn.shared) sftp.end();
    conn.release({ failed });
  };
  const main = new SftpTransport(
    new SftpSession(sftp, { listTree: treeLister(client) }),
    endpoint.remoteRoot,
    async () => release(),
    opts.bwlimitBps ? { limiter: new TokenBucket(opts.bwlimitBps) } : {},
  );
  const delta =
    choice === 'auto' && rsyncUsable
      ? // SFTP settles what rsync moves into its backup directory (rsync-backups.ts).
        await rsyncTransport(endpoint, localRoot, opts.bwlimitBps, main).catch(() => undefined)
      : undefined;
  return {
    main,
    ...(delta ? { delta } : {}),
    closed,
    exec: sshExec(client),
    close: async (how) => {
      failed ||= how?.failed === true;
      await delta?.close();
      await main.close();
      release();
    },
  };
}
