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
 *   `answerPrompts`, and without it fails the login saying what was asked.
 * - The resolved client keeps an 'error' listener, so a late error never crashes the process;
 *   callers watch 'close' (and may add their own 'error' listener) to notice a lost connection.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type {
  Algorithms,
  AnyAuthMethod,
  AuthenticationType,
  Client as ClientType,
  ConnectConfig,
  ParsedKey,
  SFTPWrapper,
  ServerHostKeyAlgorithm,
} from 'ssh2';
import type { SshEndpoint } from './endpoint.ts';
import { HostKeyError, verifyHostKey } from './host-key.ts';
import { lookupHostKeys } from './known-hosts.ts';

const { Client, utils } = ssh2;

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

export interface ConnectOptions {
  /** Per hop: TCP connect + handshake + authentication. Default 20 s. */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Answers keyboard-interactive prompts that are not a request for the stored password (a
   * one-time code, a question): one answer per prompt. Rejecting gives up the login with that
   * error. Without it, such a prompt fails the connection with an 'auth' SshConnectError
   * quoting the prompt.
   */
  answerPrompts?: (request: KeyboardInteractiveRequest) => Promise<string[]>;
}

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

const PREFERRED_CIPHER = 'aes128-gcm@openssh.com';
const KEYBOARD_INTERACTIVE = 'keyboard-interactive';

/** A hidden prompt for a password or passphrase, not for a one-time code. */
export function isPasswordPrompt(p: { prompt: string; echo?: boolean }): boolean {
  return (
    p.echo !== true &&
    /pass(word|phrase)/i.test(p.prompt) &&
    !/one[- ]?time|\botp\b|verification|token|code/i.test(p.prompt)
  );
}
const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 4;
const DEFAULT_READY_TIMEOUT_MS = 20_000;

/** Host key algorithms that yield a key of each known_hosts key type. */
const ALGORITHMS_FOR_KEY_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

interface PlannedMethod {
  /** For messages: `agent`, `key /path`, `password`. */
  label: string;
  /** The method name servers list in "methods that can continue". */
  wire: AuthenticationType;
  method: AnyAuthMethod;
}

interface HopPlan {
  methods: PlannedMethod[];
  /** Why some configured credentials are not used (missing file, encrypted key, ...). */
  notes: string[];
  encryptedWithoutPassphrase: string[];
  /** Host key algorithms to put first: those of keys known_hosts already has for the host. */
  knownHostKeyAlgorithms: ServerHostKeyAlgorithm[];
}

function where(ep: SshEndpoint): string {
  return ep.host.includes(':') ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

function who(ep: SshEndpoint): string {
  return `${ep.user}@${where(ep)}`;
}

async function readKeyFile(file: string): Promise<Buffer | string> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'the file does not exist';
    if (code === 'EACCES') return 'the file is not readable (permission denied)';
    return `it could not be read (${(err as Error).message})`;
  }
}

async function planHop(ep: SshEndpoint): Promise<HopPlan> {
  const plan: HopPlan = { methods: [], notes: [], encryptedWithoutPassphrase: [], knownHostKeyAlgorithms: [] };
  const username = ep.user;

  const agent = ep.agentSocket === null ? undefined : (ep.agentSocket ?? process.env.SSH_AUTH_SOCK);
  if (agent) {
    if (existsSync(agent))
      plan.methods.push({ label: 'agent', wire: 'publickey', method: { type: 'agent', username, agent } });
    else plan.notes.push(`the ssh-agent socket ${agent} does not exist`);
  }

  for (const file of ep.identityFiles) {
    const data = await readKeyFile(file);
    if (typeof data === 'string') {
      plan.notes.push(`key ${file} was skipped: ${data}`);
      continue;
    }
    const parsed = utils.parseKey(data, ep.passphrase);
    const key: ParsedKey | Error | undefined = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
    if (key instanceof Error || key === undefined) {
      const message = key?.message ?? 'no key found';
      if (/no passphrase given/i.test(message)) {
        plan.encryptedWithoutPassphrase.push(file);
        plan.notes.push(`key ${file} was skipped: it is encrypted and no passphrase was given`);
      } else if (/passphrase/i.test(message)) {
        plan.notes.push(`key ${file} was skipped: the passphrase given does not decrypt it`);
      } else {
        plan.notes.push(`key ${file} was skipped: it is not a private key Ferry can read (${message})`);
      }
      continue;
    }
    if (!key.isPrivateKey()) {
      plan.notes.push(`key ${file} was skipped: it holds a public key, not a private key`);
      continue;
    }
    plan.methods.push({ label: `key ${file}`, wire: 'publickey', method: { type: 'publickey', username, key } });
  }

  if (ep.password !== undefined) {
    plan.methods.push({
      label: 'password',
      wire: 'password',
      method: { type: 'password', username, password: ep.password },
    });
  }

  let knownHosts = '';
  try {
    knownHosts = await readFile(ep.knownHostsPath, 'utf8');
  } catch {
    // Missing or unreadable: the host verifier reports it properly; no preference here.
  }
  for (const { type } of lookupHostKeys(knownHosts, ep.host, ep.port).keys) {
    for (const algo of ALGORITHMS_FOR_KEY_TYPE[type] ?? []) {
      if (!plan.knownHostKeyAlgorithms.includes(algo)) plan.knownHostKeyAlgorithms.push(algo);
    }
  }
  return plan;
}

function noCredentialsError(ep: SshEndpoint, plan: HopPlan): SshConnectError {
  const [encrypted] = plan.encryptedWithoutPassphrase;
  if (encrypted !== undefined && plan.encryptedWithoutPassphrase.length === plan.notes.length) {
    return new SshConnectError(
      'auth',
      ep.host,
      ep.port,
      `Cannot authenticate as ${who(ep)}: the key ${encrypted} is encrypted and no passphrase was given. ` +
        `Give its passphrase, or load it into ssh-agent (ssh-add ${encrypted}) and connect with the agent.`,
    );
  }
  const why = plan.notes.length > 0 ? ` (${plan.notes.join('; ')})` : '';
  return new SshConnectError(
    'auth',
    ep.host,
    ep.port,
    `Cannot authenticate as ${who(ep)}: no usable credentials${why}. ` +
      `Give a private key file (-i), start ssh-agent with your key loaded, or give a password.`,
  );
}

function algorithmsFor(plan: HopPlan): Algorithms {
  const algorithms: Algorithms = {
    // remove-then-prepend moves it to the front while keeping ssh2's other defaults after it.
    cipher: { remove: PREFERRED_CIPHER, prepend: PREFERRED_CIPHER, append: [] },
  };
  if (plan.knownHostKeyAlgorithms.length > 0) {
    // Like OpenSSH: ask for the key type known_hosts already has, so a server holding several
    // host keys is not mistaken for one whose key changed.
    algorithms.serverHostKey = {
      remove: plan.knownHostKeyAlgorithms,
      prepend: plan.knownHostKeyAlgorithms,
      append: [],
    };
  }
  return algorithms;
}

function abortError(signal: AbortSignal, ep: SshEndpoint): SshConnectError {
  return new SshConnectError('aborted', ep.host, ep.port, `Connecting to ${where(ep)} was cancelled.`, {
    cause: signal.reason,
  });
}

function describeFailure(
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
      if (!opts.answerPrompts) {
        const asked = prompts.filter((p) => !isPasswordPrompt(p) || password === undefined);
        const quoted = asked.map((p) => JSON.stringify(p.prompt.trim())).join(', ');
        return fail(
          new SshConnectError(
            'auth',
            ep.host,
            ep.port,
            `Cannot log in as ${who(ep)}: the server asks ${quoted} (keyboard-interactive), ` +
              (password === undefined
                ? 'and no password was given to answer it.'
                : 'which is not a password prompt; Ferry answers only password prompts from the stored password.') +
              ` Log in with a key instead, or answer the prompt when Ferry asks for it.`,
          ),
        );
      }
      opts.answerPrompts(request).then(
        (answers) => {
          if (settled) return;
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
      resolve(client);
    });

    const config: ConnectConfig = {
      sock,
      username: ep.user,
      readyTimeout: timeoutMs,
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

function tcpSocket(ep: SshEndpoint): Duplex {
  const sock = netConnect({ host: ep.host, port: ep.port });
  // ssh2 never sets TCP_NODELAY; without it small SFTP requests wait on Nagle + delayed ACK.
  // Node applies it to the socket before connect(2), also when a DNS lookup comes first.
  sock.setNoDelay(true);
  coalesceWritesPerTick(sock);
  return sock;
}

/**
 * ssh2 writes every packet with its own socket.write: with TCP_NODELAY that is one syscall
 * and one TCP segment per SFTP request. Corking for the rest of the current tick sends all
 * packets queued in one go (pipelined requests are mostly issued in the same tick) with one
 * writev, without delaying anything past the tick.
 */
function coalesceWritesPerTick(sock: Socket): void {
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
  let corked = false;
  (sock as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    if (!corked && !sock.destroyed) {
      corked = true;
      sock.cork();
      process.nextTick(() => {
        corked = false;
        sock.uncork();
      });
    }
    return write(...args);
  };
}

function forwardThrough(jump: ClientType, jumpEp: SshEndpoint, ep: SshEndpoint): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, ep.host, ep.port, (err, stream) => {
      if (err) {
        const kind: SshConnectErrorKind = /refused/i.test(err.message) ? 'refused' : 'other';
        reject(
          new SshConnectError(
            kind,
            ep.host,
            ep.port,
            `Jump host ${jumpEp.displayName} could not open a connection to ${where(ep)}: ${err.message}. ` +
              `Check the host name and port, and that the jump host allows TCP forwarding.`,
            { cause: err },
          ),
        );
      } else {
        resolve(stream);
      }
    });
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

/**
 * Opens the SFTP subsystem on a ready client. A server that never answers the request (its
 * SSH layer alive, its session handling hung) fails after `timeoutMs` instead of hanging.
 */
export function openSftp(client: ClientType, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new Error(
        `The server did not start SFTP within ${Math.round(timeoutMs / 1000)} s: it accepted the SSH login but answers nothing more. Check its load and its sshd logs.`,
      );
      reject(Object.assign(err, { code: 'ETIMEDOUT' }));
      client.end();
    }, timeoutMs);
    client.sftp((err, sftp) => {
      clearTimeout(timer);
      if (err) {
        reject(
          new Error(
            `The server refused to start SFTP: ${err.message}. Is the SFTP subsystem enabled in its sshd_config?`,
            { cause: err },
          ),
        );
      } else {
        resolve(sftp);
      }
    });
  });
}
