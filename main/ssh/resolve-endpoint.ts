/**
 * Turns a target spec plus ~/.ssh/config plus command-line options into an SshEndpoint.
 *
 * Precedence, most specific first: what the target spec says (user@, ssh://…:port), then the
 * command-line option, then the ssh config, then the default (port 22, the OS user,
 * ~/.ssh/known_hosts, the default key files that exist).
 *
 * ProxyJump is flattened into `jump`, outermost hop first, following OpenSSH: the first hop's
 * own ProxyJump (from its config) is expanded in front of it; later hops are reached through the
 * previous one. Hops share the known_hosts override, host key policy, passphrase, agent and
 * explicit identity files of the target; a password is never sent to a jump host.
 * A hop's `remoteRoot` is `/` and its own `jump` is unset (the list is already flat).
 */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { HostKeyPolicy, SshEndpoint } from './endpoint.ts';
import { expandTilde, resolveHostConfig, type HostConfig } from './ssh-config.ts';
import { parseJumpHost, parseTarget } from './target.ts';

export interface ResolveEndpointOptions {
  /** `-i` files; tried before the config's IdentityFile entries. */
  identityFiles?: string[];
  knownHostsPath?: string;
  /** Default `strict`. */
  hostKeyPolicy?: HostKeyPolicy;
  port?: number;
  user?: string;
  password?: string;
  passphrase?: string;
  /** ssh-agent socket; `null` disables the agent; unset means SSH_AUTH_SOCK at connect time. */
  agentSocket?: string | null;
  /** ProxyJump override (`-J`); `none` disables the config's ProxyJump. */
  proxyJump?: string;
  /** ssh config file; default ~/.ssh/config. `null` reads no config at all. */
  sshConfigPath?: string | null;
  /** Injectable for tests: home directory and local user name. */
  homeDir?: string;
  localUser?: string;
}

const DEFAULT_KEY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const MAX_JUMP_DEPTH = 8;

interface Context {
  options: ResolveEndpointOptions;
  homeDir: string;
  localUser: string;
}

function lookup(ctx: Context, host: string, user: string | undefined): HostConfig {
  if (ctx.options.sshConfigPath === null) return { identityFiles: [], ...(user !== undefined ? { user } : {}) };
  return resolveHostConfig(host, {
    homeDir: ctx.homeDir,
    localUser: ctx.localUser,
    ...(ctx.options.sshConfigPath !== undefined ? { configPath: ctx.options.sshConfigPath } : {}),
    ...(user !== undefined ? { user } : {}),
  });
}

function localPath(ctx: Context, p: string): string {
  return resolve(expandTilde(p, ctx.homeDir));
}

function identityFilesFor(ctx: Context, config: HostConfig): string[] {
  const explicit = (ctx.options.identityFiles ?? []).map((p) => localPath(ctx, p));
  const fromConfig = config.identityFiles.map((p) => localPath(ctx, p));
  const files = [...new Set([...explicit, ...fromConfig])];
  if (files.length > 0) return files;
  return DEFAULT_KEY_NAMES.map((n) => join(ctx.homeDir, '.ssh', n)).filter((p) => existsSync(p));
}

function refuseProxyCommand(displayName: string, config: HostConfig): void {
  if (config.proxyCommand !== undefined) {
    throw new Error(
      `The ssh config sets ProxyCommand for ${displayName}; Ferry does not run proxy commands. ` +
        `Use ProxyJump instead, or give a host Ferry can reach directly.`,
    );
  }
}

function baseEndpoint(
  ctx: Context,
  displayName: string,
  config: HostConfig,
  fields: { host: string; port: number; user: string; remoteRoot: string },
): SshEndpoint {
  const { options } = ctx;
  if (fields.host === '' || fields.host.startsWith('-') || /\s/.test(fields.host)) {
    throw new Error(
      `The ssh config gives ${displayName} the HostName "${fields.host}", which is not a usable host name.`,
    );
  }
  if (fields.user === '' || fields.user.startsWith('-') || /\s/.test(fields.user)) {
    throw new Error(`The user name "${fields.user}" for ${displayName} is not usable; give one with user@host.`);
  }
  const endpoint: SshEndpoint = {
    ...fields,
    displayName,
    identityFiles: identityFilesFor(ctx, config),
    knownHostsPath:
      options.knownHostsPath !== undefined
        ? localPath(ctx, options.knownHostsPath)
        : config.userKnownHostsFile !== undefined
          ? localPath(ctx, config.userKnownHostsFile)
          : join(ctx.homeDir, '.ssh', 'known_hosts'),
    hostKeyPolicy: options.hostKeyPolicy ?? 'strict',
  };
  if (options.passphrase !== undefined) endpoint.passphrase = options.passphrase;
  if (options.agentSocket !== undefined) endpoint.agentSocket = options.agentSocket;
  return endpoint;
}

/** Resolves a comma-separated ProxyJump value into flat hops, outermost first. */
function resolveJumps(ctx: Context, value: string, depth: number): SshEndpoint[] {
  if (depth > MAX_JUMP_DEPTH) {
    throw new Error(`ProxyJump chain is longer than ${MAX_JUMP_DEPTH} hops (does the ssh config make it loop?).`);
  }
  const specs = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const hops: SshEndpoint[] = [];
  specs.forEach((spec, index) => {
    const parsed = parseJumpHost(spec);
    const config = lookup(ctx, parsed.host, parsed.user);
    refuseProxyCommand(spec, config);
    if (index === 0 && config.proxyJump !== undefined) hops.push(...resolveJumps(ctx, config.proxyJump, depth + 1));
    hops.push(
      baseEndpoint(ctx, spec, config, {
        host: config.hostName ?? parsed.host,
        port: parsed.port ?? config.port ?? 22,
        user: parsed.user ?? config.user ?? ctx.localUser,
        remoteRoot: '/',
      }),
    );
  });
  return hops;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? '';
  }
}

/**
 * Resolves a target spec into a connectable endpoint. Throws an Error a user can act on for a
 * malformed spec, an unreadable/unparsable ssh config, a ProxyCommand host or a jump loop.
 */
export function resolveEndpoint(targetSpec: string, options: ResolveEndpointOptions = {}): SshEndpoint {
  const ctx: Context = {
    options,
    homeDir: options.homeDir ?? homedir(),
    localUser: options.localUser ?? currentUser(),
  };
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)) {
    throw new Error(`Port ${options.port} is not a number from 1 to 65535.`);
  }
  const target = parseTarget(targetSpec);
  const explicitUser = target.user ?? options.user;
  const config = lookup(ctx, target.host, explicitUser);
  refuseProxyCommand(target.host, config);

  const endpoint = baseEndpoint(ctx, target.host, config, {
    host: config.hostName ?? target.host,
    port: target.port ?? options.port ?? config.port ?? 22,
    user: explicitUser ?? config.user ?? ctx.localUser,
    remoteRoot: target.path,
  });
  if (options.password !== undefined) endpoint.password = options.password;

  const jumpValue = options.proxyJump ?? config.proxyJump;
  if (jumpValue !== undefined && jumpValue.toLowerCase() !== 'none') {
    const jump = resolveJumps(ctx, jumpValue, 1);
    if (jump.length > 0) endpoint.jump = jump;
  }
  return endpoint;
}
