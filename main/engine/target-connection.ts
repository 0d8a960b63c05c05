/**
 * The connection of one target lane: opens its transports, notices when they drop, and says
 * how long to wait before the next try. Dead after an error (Mutagen's endpoint rule): the
 * lane drops it and opens a new one, and a full pass follows every reconnect.
 */
import { PromptUnansweredError, SshConnectError } from '../ssh/connect.ts';
import { HostKeyError } from '../ssh/host-key.ts';
import type { OpenTransports, TransportOpener } from '../transport/open-transport.ts';
import { nextDelayMs } from './backoff.ts';
import type { FolderConfig } from './folder-config.ts';
import type { FolderStatus } from './status.ts';

export type ConnectErrorKind = NonNullable<FolderStatus['lastErrorKind']>;

/**
 * Kinds of failure that retrying does not clear by itself (a host key to confirm, a password
 * to fix, a remote folder that cannot be created): `ferry sync` ends on them, and the daemon
 * and the app retry them with a backoff that grows to ten minutes.
 */
export const PERMANENT_ERROR_KINDS: ReadonlySet<ConnectErrorKind> = new Set([
  'host-key-changed',
  'host-key-revoked',
  'host-key-unknown',
  'auth',
  'remote-root',
]);

/** The longest wait between tries of a connection that fails with a permanent error. */
export const PERMANENT_MAX_DELAY_MS = 10 * 60_000;

/** The remote folder is missing and the server refused to create it. */
export class RemoteRootError extends Error {
  readonly kind = 'remote-root';
}

export class TargetConnection {
  readonly #config: FolderConfig;
  readonly #open: TransportOpener;
  /** Called once per connection that drops while it is the current one. */
  readonly #onLost: (err: Error | undefined) => void;
  #transports: OpenTransports | undefined;
  /** Cancels a connect in progress when the folder stops (a handshake can take 20 s). */
  #connecting: AbortController | undefined;
  /** Failures in a row (opens that failed, passes that hit a permanent error), for the backoff. */
  #failures = 0;
  /** The last open failed on a prompt nobody answered (see {@link retryDelay}). */
  #unanswered = false;

  constructor(config: FolderConfig, open: TransportOpener, onLost: (err: Error | undefined) => void) {
    this.#config = config;
    this.#open = open;
    this.#onLost = onLost;
  }

  get current(): OpenTransports | undefined {
    return this.#transports;
  }

  /** Opens the transports; throws what the opener threw (see {@link errorKindOf}). */
  async open(): Promise<OpenTransports> {
    const connecting = new AbortController();
    this.#connecting = connecting;
    let t: OpenTransports;
    try {
      t = await this.#open(this.#config.endpoint, this.#config.localRoot, this.#config.transport, {
        signal: connecting.signal,
        ...(this.#config.bwlimitBps ? { bwlimitBps: this.#config.bwlimitBps } : {}),
      });
    } catch (err) {
      this.#failures++;
      this.#unanswered = err instanceof PromptUnansweredError;
      throw err;
    } finally {
      this.#connecting = undefined;
    }
    this.#unanswered = false;
    this.#transports = t;
    void t.closed.then((err) => {
      if (this.#transports !== t) return;
      this.#transports = undefined;
      this.#onLost(err);
    });
    return t;
  }

  /** A pass over this connection hit a failure of its own (see {@link RemoteRootError}). */
  failed(): void {
    this.#failures++;
  }

  /** A pass completed: the next failure starts the backoff from the beginning. */
  succeeded(): void {
    this.#failures = 0;
  }

  /**
   * How long to wait after a failure of this kind: a growing backoff, capped at a minute for
   * what may clear by itself and at ten minutes for {@link PERMANENT_ERROR_KINDS}.
   */
  retryDelay(kind: ConnectErrorKind): number {
    // A prompt only a person can answer (a one-time code) that nobody answered: trying again
    // soon would only log in again and fail the same way (and count against the account on
    // servers that lock it). The longest wait at once; "Sync now" or a restart cuts it short.
    if (this.#unanswered) return PERMANENT_MAX_DELAY_MS;
    const maxMs = PERMANENT_ERROR_KINDS.has(kind) ? PERMANENT_MAX_DELAY_MS : 60_000;
    return nextDelayMs(Math.max(0, this.#failures - 1), { baseMs: 1000, maxMs });
  }

  /** Cancels an {@link open} in progress. */
  abort(reason: Error): void {
    this.#connecting?.abort(reason);
  }

  /**
   * Closes the transports. `failed`: dropped after an error, so a connection shared with
   * other targets takes no new ones and the next {@link open} connects afresh.
   */
  async close(how?: { failed?: boolean }): Promise<void> {
    const t = this.#transports;
    this.#transports = undefined;
    await t?.close(how).catch(() => undefined);
  }
}

/** Classify a connect failure (HostKeyError and SshConnectError carry a `kind`). */
export function errorKindOf(err: unknown): ConnectErrorKind {
  if (err instanceof HostKeyError)
    return err.kind === 'changed'
      ? 'host-key-changed'
      : err.kind === 'revoked'
        ? 'host-key-revoked'
        : 'host-key-unknown';
  if (err instanceof SshConnectError) return err.kind === 'auth' ? 'auth' : 'connection';
  if (err instanceof RemoteRootError) return 'remote-root';
  return 'other';
}
