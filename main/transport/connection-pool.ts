/**
 * One SSH connection per server for the targets of one folder (issue 12, fan-out): targets
 * that differ only in their remote directory share a connection, each with its own SFTP
 * channel, its own exec channels and its own rsync processes. Ten directories on one server
 * then cost one TCP connection, one key exchange and one login (one sshd session on the
 * server) instead of ten, and one socket carries every target's requests (one write per
 * tick for all of them); see docs/BENCHMARKS.md.
 *
 * Invariants:
 * - Only endpoints equal in everything a login depends on (host, port, user, credentials,
 *   known_hosts and its policy, jump hosts) share; the remote directory is the only
 *   difference allowed.
 * - At most {@link TARGETS_PER_CONNECTION} targets use one connection: each may hold an SFTP
 *   channel, a listing and a command after sync at once, and OpenSSH allows 10 sessions per
 *   connection by default (MaxSessions). A server that refuses a further SFTP channel anyway
 *   gets a connection of its own for that target, never the rsync fallback (which is for
 *   servers without SFTP).
 * - Each target's transports are its own and die on their own (Mutagen's endpoint rule): a
 *   target that drops its transports after an error retires the connection, so no target
 *   opens new ones on it (the next open connects afresh); the targets still on it keep it
 *   until they drop it themselves or it closes.
 * - A connection lost or closed ends every target's transports on it (their `closed`
 *   resolves), and leaves the pool: they all reconnect.
 * - The connection ends when its last target lets go. A target that gives up waiting for a
 *   connection being opened (its signal aborts) lets go at once; the handshake is cancelled
 *   only when every target waiting for it gave up.
 */
import type { Client } from 'ssh2';
import { connectSsh } from '../ssh/connect.ts';
import { abortError } from '../ssh/connect-error.ts';
import type { SshEndpoint } from '../ssh/endpoint.ts';
import {
  openTransports,
  SharedChannelRefused,
  transportsOver,
  whenClosed,
  type OpenTransports,
  type TransportOpener,
  type TransportOpenOptions,
} from './open-transport.ts';

export const TARGETS_PER_CONNECTION = 4;

interface Shared {
  key: string;
  client: Promise<Client>;
  closed: Promise<Error | undefined>;
  /** Targets holding (or waiting for) it. */
  users: number;
  /** Takes no new targets (it failed one, or closed). */
  retired: boolean;
  cancel: AbortController;
}

/** What a login depends on: everything of the endpoint but the remote directory and the name shown. */
export function connectionKey(ep: SshEndpoint): string {
  const part = (e: SshEndpoint): unknown => [
    e.host,
    e.port,
    e.user,
    e.identityFiles,
    e.passphrase ?? null,
    e.password ?? null,
    e.agentSocket === undefined ? 'default' : e.agentSocket,
    e.knownHostsPath,
    e.hostKeyPolicy,
    (e.jump ?? []).map(part),
  ];
  return JSON.stringify(part(ep));
}

export class ConnectionPool {
  #entries: Shared[] = [];
  /** Connections opened so far (for tests and the benchmark). */
  connections = 0;
  readonly #connect: typeof connectSsh;

  /** `connect`: what opens a connection (tests count them); connect.ts's by default. */
  constructor(connect: typeof connectSsh = connectSsh) {
    this.#connect = connect;
  }

  /** A {@link TransportOpener} whose targets share connections as described above. */
  readonly open: TransportOpener = async (endpoint, localRoot, choice, opts = {}) => {
    // rsync-only targets use the connection only to check the host key, then their own ssh.
    if (choice === 'rsync') return openTransports(endpoint, localRoot, choice, opts);
    const entry = this.#acquire(endpoint, opts);
    let client: Client;
    try {
      client = await waitFor(entry.client, opts.signal, endpoint);
    } catch (err) {
      this.#release(entry, { failed: false });
      throw err;
    }
    const conn = {
      client,
      closed: entry.closed,
      shared: true,
      release: once((how?: { failed?: boolean }) => this.#release(entry, { failed: how?.failed === true })),
    };
    try {
      return await transportsOver(conn, endpoint, localRoot, choice, opts);
    } catch (err) {
      if (!(err instanceof SharedChannelRefused)) throw err;
      // The server allows fewer channels than TARGETS_PER_CONNECTION: no more targets on this
      // one, and this target gets a connection of its own.
      entry.retired = true;
      return openTransports(endpoint, localRoot, choice, opts);
    }
  };

  #acquire(endpoint: SshEndpoint, opts: TransportOpenOptions): Shared {
    const key = connectionKey(endpoint);
    let entry = this.#entries.find((e) => e.key === key && !e.retired && e.users < TARGETS_PER_CONNECTION);
    if (!entry) {
      const cancel = new AbortController();
      // A prompt (a one-time code) is asked once for the connection, whichever target opened it.
      const client = this.#connect(endpoint, {
        signal: cancel.signal,
        ...(opts.answerPrompts ? { answerPrompts: opts.answerPrompts } : {}),
      });
      this.connections++;
      const made: Shared = {
        key,
        client,
        closed: client.then(whenClosed, (err: unknown) => err as Error),
        users: 0,
        retired: false,
        cancel,
      };
      const leave = () => {
        made.retired = true;
        this.#entries = this.#entries.filter((e) => e !== made);
      };
      client.then((c) => c.once('close', leave), leave);
      this.#entries.push(made);
      entry = made;
    }
    entry.users++;
    return entry;
  }

  #release(entry: Shared, how: { failed: boolean }): void {
    entry.users--;
    if (how.failed) entry.retired = true;
    if (entry.users > 0) return;
    entry.retired = true;
    this.#entries = this.#entries.filter((e) => e !== entry);
    entry.cancel.abort(new Error('no target needs this connection any more'));
    entry.client.then(
      (c) => c.end(),
      () => undefined,
    );
  }
}

/** `client`, unless `signal` aborts first. */
function waitFor(client: Promise<Client>, signal: AbortSignal | undefined, ep: SshEndpoint): Promise<Client> {
  if (!signal) return client;
  if (signal.aborted) return Promise.reject(abortError(signal, ep));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, ep));
    signal.addEventListener('abort', onAbort, { once: true });
    client.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function once<A extends unknown[]>(f: (...a: A) => void): (...a: A) => void {
  let done = false;
  return (...a) => {
    if (done) return;
    done = true;
    f(...a);
  };
}

export type { OpenTransports };
