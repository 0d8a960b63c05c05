/**
 * The connection of one target lane: opens its transports, notices when they drop, and says
 * how long to wait before the next try. Dead after an error (Mutagen's endpoint rule): the
 * lane drops it and opens a new one, and a full pass follows every reconnect.
 */
import { SshConnectError } from '../ssh/connect.ts';
import { HostKeyError } from '../ssh/host-key.ts';
import type { OpenTransports, TransportOpener } from '../transport/open-transport.ts';
import { nextDelayMs } from './backoff.ts';
import type { FolderConfig } from './folder-config.ts';
import type { FolderStatus } from './status.ts';

export type ConnectErrorKind = NonNullable<FolderStatus['lastErrorKind']>;

/** How long a changed or revoked host key waits before the next try: it never clears by itself. */
const PERMANENT_ERROR_RETRY_MS = 10 * 60_000;

export class TargetConnection {
  readonly #config: FolderConfig;
  readonly #open: TransportOpener;
  /** Called once per connection that drops while it is the current one. */
  readonly #onLost: (err: Error | undefined) => void;
  #transports: OpenTransports | undefined;
  /** Cancels a connect in progress when the folder stops (a handshake can take 20 s). */
  #connecting: AbortController | undefined;
  #failedAttempts = 0;

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
      this.#failedAttempts++;
      throw err;
    } finally {
      this.#connecting = undefined;
    }
    this.#transports = t;
    this.#failedAttempts = 0;
    void t.closed.then((err) => {
      if (this.#transports !== t) return;
      this.#transports = undefined;
      this.#onLost(err);
    });
    return t;
  }

  /** How long to wait after a failed {@link open} of this kind: a growing backoff, capped at a minute. */
  retryDelay(kind: ConnectErrorKind): number {
    if (kind === 'host-key-changed' || kind === 'host-key-revoked') return PERMANENT_ERROR_RETRY_MS;
    return nextDelayMs(this.#failedAttempts - 1, { baseMs: 1000, maxMs: 60_000 });
  }

  /** Cancels an {@link open} in progress. */
  abort(reason: Error): void {
    this.#connecting?.abort(reason);
  }

  async close(): Promise<void> {
    const t = this.#transports;
    this.#transports = undefined;
    await t?.close().catch(() => undefined);
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
  return 'other';
}
