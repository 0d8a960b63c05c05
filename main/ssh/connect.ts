/**
 * Opens an authenticated ssh2 connection to an SshEndpoint (through its ProxyJump hops).
 *
 * Invariants:
 * - Every hop's host key is checked against its known_hosts by verifyHostKey before any
 *   authentication; ssh2 would otherwise accept any key. A refused key rejects with the
 *   HostKeyError itself, and a client that reaches "ready" without our verifier having approved
 *   the key is torn down.
 * - The TCP socket is ours, with TCP_NODELAY set (ssh2 never sets it), and
 *   `aes128-gcm@openssh.com` is offered first.
 * - Errors are SshConnectError / HostKeyError with sentences a user can act on.
 * - Keyboard-interactive (PAM's usual setup, and 2FA) is tried after the other methods when
 *   the server offers it and the password was not already refused: prompts that ask for the
 *   password get the stored password (at most once per attempt); any other prompt goes to
 *   `answerPrompts`, and without it fails the login with a PromptUnansweredError saying what
 *   was asked. The ready timeout does not run while a person is being asked.
 * - The resolved client keeps an 'error' listener, so a late error never crashes the process;
 *   callers watch 'close' (and may add their own 'error' listener) to notice a lost connection.
 */
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, Client as ClientType, ConnectConfig, SFTPWrapper } from 'ssh2';
import type { SshEndpoint } from './endpoint.ts';
import { verifyHostKey } from './host-key.ts';
import { abortError, DEFAULT_READY_TIMEOUT_MS, describeFailure, SshConnectError, where, who } from './connect-error.ts';
import {
  algorithmsFor,
  isPasswordPrompt,
  noCredentialsError,
  planHop,
  type HopPlan,
  unansweredPromptError,
  type PlannedMethod,
} from './auth-plan.ts';
import { forwardThrough, tcpSocket } from './socket.ts';
// Cheaper AES-GCM packets for every ssh2 connection this process makes (see the module).
import './ssh2-gcm-speed.ts';

export { PromptUnansweredError, SshConnectError, type SshConnectErrorKind } from './connect-error.ts';
export { isPasswordPrompt } from './auth-plan.ts';
export { openSftp } from './open-sftp.ts';

const { Client } = ssh2;

/** One keyboard-interactive round: what the server asks (`echo`: the answer may be shown). */
export interface KeyboardInteractiveRequest {
  host: string;
  port: number;
  user: string;
  /** The server's title and instructions for this round (often empty). */
  name: string;
  instructions: string;
  prompts: { prompt: string; echo: boolean }[];
}

/**
 * Asks a person the prompts of one keyboard-interactive round; one answer per prompt. `signal`
 * aborts when the login no longer needs the answers (it failed, timed out or was cancelled).
 */
export type PromptAnswerer = (
  request: KeyboardInteractiveRequest,
  context: { signal: AbortSignal },
) => Promise<string[]>;

export interface ConnectOptions {
  /** Per hop: TCP connect + handshake + authentication. Default 20 s. */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Answers keyboard-interactive prompts that are not a request for the stored password (a
   * one-time code, a question): one answer per prompt. Rejecting gives up the login with that
   * error. Without it, such a prompt fails the connection with a PromptUnansweredError (kind
   * 'auth') quoting the prompt.
   */
  answerPrompts?: PromptAnswerer;
}

/** Clients whose login needed answers from a person (a one-time code): see {@link neededPerson}. */
const answeredByPerson = new WeakSet<ClientType>();

/**
 * The login of `client` needed a person's answers: an ssh subprocess (rsync's) cannot log in
 * on its own there, since it never prompts (ssh-command.ts BatchMode).
 */
export function neededPerson(client: ClientType): boolean {
  return answeredByPerson.has(client);
}

const KEYBOARD_INTERACTIVE = 'keyboard-interactive';

const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 4;

/** Runs the SSH handshake and authentication for one hop over an already opened stream. */
function handshake(
  ep: SshEndpoint,
  sock: Duplex,
  plan: HopPlan,
  opts: ConnectOptions,
  via: string | undefined,
): Promise<ClientType> {
  const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const client = new Client();
    const { signal } = opts;
    let settled = false;
    let hostKeyApproved = false;
    let hostKeyFailure: Error | undefined;
    const tried: string[] = [];
    const triedWires: AuthenticationType[] = [];
    const refusedByServer: string[] = [];
    const notes = [...plan.notes];
    const queue = [...plan.methods];
    if (ep.password !== undefined || opts.answerPrompts) {
      queue.push({
        label: KEYBOARD_INTERACTIVE,
        wire: KEYBOARD_INTERACTIVE,
        method: { type: KEYBOARD_INTERACTIVE, username: ep.user, prompt: answerKeyboard },
      });
    }
    let last: PlannedMethod | undefined;
    let passwordGiven = false;
    /** Prompts a person answered in the last round (quoted when the server then refuses). */
    let personAnswered: string[] = [];
    let personAsked = false;
    /** Aborted once this attempt is over: a person still being asked no longer needs to answer. */
    const asking = new AbortController();
    // Our own ready timeout instead of ssh2's, so it can stop while a person types an answer.
    let readyTimer: NodeJS.Timeout | undefined;
    const startReadyTimer = () => {
      clearTimeout(readyTimer);
      readyTimer = setTimeout(() => {
        const err = Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' });
        fail(describeFailure(err, ep, authContext()));
      }, timeoutMs);
    };
    const authContext = () => ({
      timeoutMs,
      via,
      tried,
      refusedByServer,
      notes,
      onlyPasswordTried:
        triedWires.length > 0 && triedWires.every((w) => w === 'password' || w === KEYBOARD_INTERACTIVE),
    });

    function answerKeyboard(
      name: string,
      instructions: string,
      _lang: string,
      prompts: { prompt: string; echo?: boolean }[],
      finish: (answers: string[]) => void,
    ): void {
      if (settled) return;
      const password = ep.password;
      if (password !== undefined && prompts.every(isPasswordPrompt)) {
        // Asked again within one attempt: the server refused what we gave (PAM asks anew).
        if (passwordGiven) {
          const refused = Object.assign(new Error('the password was refused'), { level: 'client-authentication' });
          return fail(describeFailure(refused, ep, authContext()));
        }
        passwordGiven = true;
        return finish(prompts.map(() => password));
      }
      const request: KeyboardInteractiveRequest = {
        host: ep.host,
        port: ep.port,
        user: ep.user,
        name,
        instructions,
        prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true })),
      };
      if (!opts.answerPrompts) return fail(unansweredPromptError(ep, prompts));
      // A person may take longer than the ready timeout to type a code.
      clearTimeout(readyTimer);
      opts.answerPrompts(request, { signal: asking.signal }).then(
        (answers) => {
          if (settled) return;
          startReadyTimer();
          if (answers.length !== prompts.length || answers.some((a) => typeof a !== 'string')) {
            return fail(
              new SshConnectError(
                'other',
                ep.host,
                ep.port,
                `The answers to the keyboard-interactive prompts of ${where(ep)} do not match them: ${prompts.length} prompt(s), ${answers.length} answer(s).`,
              ),
            );
          }
          personAnswered = request.prompts.map((p) => JSON.stringify(p.prompt.trim()));
          personAsked = true;
          finish(answers);
        },
        (err: unknown) => {
          fail(
            err instanceof Error
              ? err
              : new SshConnectError('auth', ep.host, ep.port, `Logging in to ${who(ep)} was given up: ${String(err)}`),
          );
        },
      );
    }

    const onAbort = () => fail(abortError(signal as AbortSignal, ep));
    const finish = () => {
      settled = true;
      clearTimeout(readyTimer);
      asking.abort();
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error) => {
      if (settled) return;
      finish();
      client.end();
      sock.destroy();
      reject(err);
    };

    client.on('error', (err: Error & { level?: unknown }) => {
      if (settled) return;
      if (err.level === 'agent') {
        // ssh2 moves on to the next method by itself; keep the reason for the auth message.
        notes.push(`the ssh-agent could not be used (${err.message})`);
        return;
      }
      if (hostKeyFailure) return fail(hostKeyFailure);
      fail(describeFailure(err, ep, authContext()));
    });
    client.on('close', () => {
      if (hostKeyFailure) return fail(hostKeyFailure);
      fail(
        new SshConnectError(
          'closed',
          ep.host,
          ep.port,
          `The connection to ${where(ep)}${via ? ` (via jump host ${via})` : ''} closed before the SSH session was ready.`,
        ),
      );
    });
    client.on('ready', () => {
      if (settled) return;
      if (!hostKeyApproved) {
        return fail(
          new SshConnectError(
            'other',
            ep.host,
            ep.port,
            `The SSH session with ${where(ep)} became ready without its host key being verified; refusing to use it.`,
          ),
        );
      }
      finish();
      if (personAsked) answeredByPerson.add(client);
      resolve(client);
    });

    const config: ConnectConfig = {
      sock,
      username: ep.user,
      // 0: ssh2's own timeout is off; readyTimer (above) takes its place.
      readyTimeout: 0,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      algorithms: algorithmsFor(plan),
      // Callback form: must return undefined. ssh2 treats any returned value (a Promise too) as
      // the verdict, so this must not be an async function.
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void): void => {
        // The check reads known_hosts asynchronously; when the connection dies meanwhile, ssh2
        // throws from verify() (its protocol is torn down). That is a failed connect (usually
        // reported by the 'close' handler already), never an unhandled rejection (a crash).
        const answer = (valid: boolean) => {
          try {
            verify(valid);
          } catch (err) {
            fail(hostKeyFailure ?? (err instanceof Error ? err : new Error(String(err))));
          }
        };
        verifyHostKey({
          knownHostsPath: ep.knownHostsPath,
          host: ep.host,
          port: ep.port,
          policy: ep.hostKeyPolicy,
          presentedKey: key,
        }).then(
          (result) => {
            if (result.ok) {
              hostKeyApproved = true;
              answer(true);
            } else {
              hostKeyFailure = result.error;
              answer(false);
            }
          },
          (err: unknown) => {
            hostKeyFailure = err instanceof Error ? err : new Error(String(err));
            answer(false);
          },
        );
      },
      // Returns the next method (or false: no more) instead of calling `next`; ssh2 accepts both.
      authHandler: (
        methodsLeft: AuthenticationType[] | null,
        partialSuccess: boolean | null,
      ): AnyAuthMethod | false => {
        // The first method goes out before the server has listed any: if the list it then
        // sends lacks that method, the server does not take it at all (nothing was refused).
        if (last && methodsLeft && !partialSuccess && !methodsLeft.includes(last.wire)) {
          tried.splice(tried.lastIndexOf(last.label), 1);
          triedWires.splice(triedWires.lastIndexOf(last.wire), 1);
          if (!refusedByServer.includes(last.wire)) refusedByServer.push(last.wire);
        }
        if (last?.wire === KEYBOARD_INTERACTIVE && personAnswered.length > 0 && !partialSuccess)
          notes.push(`the server did not accept the answer to ${personAnswered.join(', ')}`);
        personAnswered = [];
        last = undefined;
        for (;;) {
          const m = queue.shift();
          if (m === undefined) return false;
          if (m.wire === KEYBOARD_INTERACTIVE) {
            // Offered by us on our own initiative: skipped silently where the server does not
            // take it, and after the server refused the password (the same one, asked again).
            if (methodsLeft && !methodsLeft.includes(KEYBOARD_INTERACTIVE)) continue;
            if (triedWires.includes('password') && methodsLeft?.includes('password')) continue;
          } else if (methodsLeft && !methodsLeft.includes(m.wire)) {
            if (!refusedByServer.includes(m.wire)) refusedByServer.push(m.wire);
            continue;
          }
          tried.push(m.label);
          triedWires.push(m.wire);
          last = m;
          return m.method;
        }
      },
    };

    if (signal?.aborted) return fail(abortError(signal, ep));
    signal?.addEventListener('abort', onAbort, { once: true });
    startReadyTimer();
    try {
      client.connect(config);
    } catch (err) {
      fail(
        new SshConnectError(
          'other',
          ep.host,
          ep.port,
          `SSH connection to ${who(ep)} could not start: ${(err as Error).message}`,
          { cause: err },
        ),
      );
    }
  });
}

/**
 * Connects to `endpoint` (through `endpoint.jump`, outermost first) and resolves with a ready,
 * authenticated client. Authentication tries, in order: the ssh-agent, each identity file,
 * the password. Closing the returned client also closes the jump connections.
 */
export async function connectSsh(endpoint: SshEndpoint, opts: ConnectOptions = {}): Promise<ClientType> {
  const hops = [...(endpoint.jump ?? []), endpoint];
  const plans = await Promise.all(hops.map((hop) => planHop(hop)));
  plans.forEach((plan, i) => {
    const hop = hops[i] as SshEndpoint;
    if (plan.methods.length === 0 && !opts.answerPrompts) throw noCredentialsError(hop, plan);
  });

  const clients: ClientType[] = [];
  try {
    for (let i = 0; i < hops.length; i++) {
      const hop = hops[i] as SshEndpoint;
      const prevHop = hops[i - 1];
      const prev = clients[i - 1];
      if (opts.signal?.aborted) throw abortError(opts.signal, hop);
      const sock = prev && prevHop ? await forwardThrough(prev, prevHop, hop) : tcpSocket(hop);
      clients.push(await handshake(hop, sock, plans[i] as HopPlan, opts, prevHop?.displayName));
    }
  } catch (err) {
    for (const c of clients) c.end();
    throw err;
  }
  const last = clients[clients.length - 1] as ClientType;
  if (clients.length > 1) last.once('close', () => clients.slice(0, -1).forEach((c) => c.end()));
  return last;
}
