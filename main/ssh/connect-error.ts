/** What a failed SSH connection attempt says, and how it is classified. */
import type { SshEndpoint } from './endpoint.ts';

export type SshConnectErrorKind =
  'refused' | 'dns' | 'timeout' | 'unreachable' | 'auth' | 'closed' | 'aborted' | 'other';

/** A failed connection attempt. `kind` lets callers tell retryable network trouble from auth trouble. */
export class SshConnectError extends Error {
  readonly kind: SshConnectErrorKind;
  readonly host: string;
  readonly port: number;

  constructor(kind: SshConnectErrorKind, host: string, port: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SshConnectError';
    this.kind = kind;
    this.host = host;
    this.port = port;
  }
}

export function where(ep: SshEndpoint): string {
  return ep.host.includes(':') ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

export function who(ep: SshEndpoint): string {
  return `${ep.user}@${where(ep)}`;
}

export function abortError(signal: AbortSignal, ep: SshEndpoint): SshConnectError {
  return new SshConnectError('aborted', ep.host, ep.port, `Connecting to ${where(ep)} was cancelled.`, {
    cause: signal.reason,
  });
}

export function describeFailure(
  err: Error & { code?: unknown; level?: unknown },
  ep: SshEndpoint,
  ctx: {
    timeoutMs: number;
    via: string | undefined;
    tried: string[];
    refusedByServer: string[];
    notes: string[];
    /** Only the password (plain or keyboard-interactive) was tried: no key, no agent. */
    onlyPasswordTried?: boolean;
  },
): SshConnectError {
  const via = ctx.via ? ` (via jump host ${ctx.via})` : '';
  const target = where(ep);
  const make = (kind: SshConnectErrorKind, message: string) =>
    new SshConnectError(kind, ep.host, ep.port, message, { cause: err });
  if (err.level === 'client-authentication') {
    const tried = ctx.tried.length > 0 ? ctx.tried.join(', ') : 'nothing';
    const extra = [
      ...(ctx.refusedByServer.length > 0 ? [`the server does not accept ${ctx.refusedByServer.join(', ')}`] : []),
      ...ctx.notes,
    ];
    return make(
      'auth',
      `Authentication as ${who(ep)}${via} failed; tried: ${tried}.` +
        (extra.length > 0 ? ` Also: ${extra.join('; ')}.` : '') +
        (ctx.onlyPasswordTried
          ? ` Check that the user name and the password are right.`
          : ` Check that the user name is right and that the matching public key is in ~/.ssh/authorized_keys of ${ep.user} on the server, or give another key with -i.`),
    );
  }
  switch (err.code) {
    case 'ECONNREFUSED':
      return make(
        'refused',
        `Could not connect to ${target}${via}: connection refused. Is sshd running there and is the port right?`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NODATA':
    case 'EAI_NONAME':
      return make(
        'dns',
        `Could not connect to ${target}${via}: the host name "${ep.host}" could not be resolved. Check its spelling, your ~/.ssh/config and your network.`,
      );
    case 'ETIMEDOUT':
      return make(
        'timeout',
        `Could not connect to ${target}${via}: the connection timed out. Is the host up and reachable, and is the port right?`,
      );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return make(
        'unreachable',
        `Could not connect to ${target}${via}: the host is unreachable (${String(err.code)}). Check your network connection.`,
      );
    case 'ECONNRESET':
    case 'EPIPE':
      return make(
        'closed',
        `The connection to ${target}${via} was reset by the server before it was ready. Is it an SSH server, and does it accept connections from this machine?`,
      );
  }
  if (err.level === 'client-timeout') {
    return make(
      'timeout',
      `Could not connect to ${target}${via}: no SSH session was ready within ${ctx.timeoutMs < 1000 ? `${ctx.timeoutMs} ms` : `${Math.round(ctx.timeoutMs / 1000)} s`}. Is the host reachable, and is an SSH server listening on that port?`,
    );
  }
  if (/connection lost before handshake/i.test(err.message)) {
    return make(
      'closed',
      `The connection to ${target}${via} was closed before the SSH handshake. Is an SSH server listening on that port, and does it accept this machine?`,
    );
  }
  return make('other', `SSH connection to ${who(ep)}${via} failed: ${err.message}`);
}

/**
 * A keyboard-interactive prompt that only a person can answer (a one-time code) got no
 * answer: nobody could be asked (the daemon, no terminal), or the person cancelled. Retrying
 * on a timer cannot clear it, so the engine waits for the user (target-connection.ts).
 */
export class PromptUnansweredError extends SshConnectError {
  constructor(host: string, port: number, message: string, options?: { cause?: unknown }) {
    super('auth', host, port, message, options);
    this.name = 'PromptUnansweredError';
  }
}

/** How long a connection may take to become ready (and SFTP to start), by default. */
export const DEFAULT_READY_TIMEOUT_MS = 20_000;
