/** What each hop will try to log in with, in order, and the host key algorithms to offer first. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { Algorithms, AnyAuthMethod, AuthenticationType, ParsedKey, ServerHostKeyAlgorithm } from 'ssh2';
import type { SshEndpoint } from './endpoint.ts';
import { lookupHostKeys } from './known-hosts.ts';
import { PromptUnansweredError, SshConnectError, who } from './connect-error.ts';

/** Offered first: AES-GCM is 15-20% faster than chacha20 on these CPUs (PERF_NOTES.md). */
export const PREFERRED_CIPHER = 'aes128-gcm@openssh.com';

const { utils } = ssh2;

/** A hidden prompt for a password or passphrase, not for a one-time code. */
export function isPasswordPrompt(p: { prompt: string; echo?: boolean }): boolean {
  return (
    p.echo !== true &&
    /pass(word|phrase)/i.test(p.prompt) &&
    !/one[- ]?time|\botp\b|verification|token|code/i.test(p.prompt)
  );
}

/** Host key algorithms that yield a key of each known_hosts key type. */
export const ALGORITHMS_FOR_KEY_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export interface PlannedMethod {
  /** For messages: `agent`, `key /path`, `password`. */
  label: string;
  /** The method name servers list in "methods that can continue". */
  wire: AuthenticationType;
  method: AnyAuthMethod;
}

export interface HopPlan {
  methods: PlannedMethod[];
  /** Why some configured credentials are not used (missing file, encrypted key, ...). */
  notes: string[];
  encryptedWithoutPassphrase: string[];
  /** Host key algorithms to put first: those of keys known_hosts already has for the host. */
  knownHostKeyAlgorithms: ServerHostKeyAlgorithm[];
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

export async function planHop(ep: SshEndpoint): Promise<HopPlan> {
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

export function noCredentialsError(ep: SshEndpoint, plan: HopPlan): SshConnectError {
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

export function algorithmsFor(plan: HopPlan): Algorithms {
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

/**
 * The login asks keyboard-interactive prompts and nobody can answer them here: for password
 * prompts with no password given, an auth error; for anything else (a one-time code), a
 * PromptUnansweredError, which the engine waits on instead of retrying.
 */
export function unansweredPromptError(
  ep: SshEndpoint,
  prompts: readonly { prompt: string; echo?: boolean }[],
): SshConnectError {
  const asked = prompts.filter((p) => !isPasswordPrompt(p) || ep.password === undefined);
  const quoted = asked.map((p) => JSON.stringify(p.prompt.trim())).join(', ');
  if (asked.every(isPasswordPrompt))
    return new SshConnectError(
      'auth',
      ep.host,
      ep.port,
      `Cannot log in as ${who(ep)}: the server asks ${quoted} (keyboard-interactive), and no password was given to answer it. Give the password, or log in with a key instead.`,
    );
  return new PromptUnansweredError(
    ep.host,
    ep.port,
    `Cannot log in as ${who(ep)}: the server asks ${quoted} (keyboard-interactive), which only a person can answer, and nobody can be asked here (ferry daemon, or ferry sync without a terminal). ` +
      `Run ferry sync in a terminal or use the Ferry app, which ask for it, or log in with a key that the server accepts without it.`,
  );
}
