/**
 * Reads the few ~/.ssh/config settings Ferry honours for a host alias: HostName, User, Port,
 * IdentityFile, ProxyJump, UserKnownHostsFile (first one), plus ProxyCommand so callers can
 * refuse it clearly.
 *
 * Safety invariant: resolving a config never runs anything. The ssh-config library would run
 * `Match exec` commands through a shell by default and `nslookup` for CanonicalizeHostName;
 * here `Match exec` blocks never match (their options are never applied) and
 * CanonicalizeHostName is ignored.
 *
 * `Include` is supported by inlining the included files (globs, `~`, paths relative to
 * ~/.ssh), at most 16 levels deep. A missing config file means "no aliases", not an error.
 */
import { readFileSync, globSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import SSHConfig, { LineType, type Line } from 'ssh-config';

export interface HostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  /** Already `~`- and %-token-expanded, in config order. */
  identityFiles: string[];
  /** Raw ProxyJump value (comma-separated hops), unless it is `none`. */
  proxyJump?: string;
  /** First UserKnownHostsFile, expanded. */
  userKnownHostsFile?: string;
  /** Raw ProxyCommand, unless it is `none`. Ferry does not run it. */
  proxyCommand?: string;
}

export interface SshConfigOptions {
  /** Config file to read; default ~/.ssh/config. */
  configPath?: string;
  /** Home directory for `~` and `%d`; default os.homedir(). */
  homeDir?: string;
  /** Local user name for `%u`; default the current OS user. */
  localUser?: string;
  /** Remote user given on the command line or in the target (feeds `Match user` and `%r`). */
  user?: string;
}

const MAX_INCLUDE_DEPTH = 16;

export function defaultSshConfigPath(homeDir: string = homedir()): string {
  return join(homeDir, '.ssh', 'config');
}

function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? '';
  }
}

/** Expands a leading `~` or `~/` to `homeDir`. `~otheruser` is left alone. */
export function expandTilde(path: string, homeDir: string): string {
  if (path === '~') return homeDir;
  if (path.startsWith('~/')) return join(homeDir, path.slice(2));
  return path;
}

/** Replaces the ssh_config tokens `%d %u %h %r %p %n %%`; other tokens are left as they are. */
export function expandTokens(value: string, tokens: Record<string, string>): string {
  return value.replace(/%(.)/g, (whole, ch: string) => (ch === '%' ? '%' : (tokens[ch] ?? whole)));
}

function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new Error(`Could not read ssh config file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Splits an Include value into words, honouring double quotes. */
function includeWords(value: string): string[] {
  const words: string[] = [];
  for (const m of value.matchAll(/"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? '');
  return words.filter((w) => w !== '');
}

/**
 * Inlines `Include` directives. After an included file, the enclosing section header is
 * repeated (or `Host *` at top level), so a Host line inside the included file does not
 * swallow the lines that follow the Include — as OpenSSH restores its matching state.
 */
function inlineIncludes(text: string, sshDir: string, homeDir: string, depth: number): string {
  if (depth > MAX_INCLUDE_DEPTH)
    throw new Error(`ssh config Include is nested more than ${MAX_INCLUDE_DEPTH} levels deep (a loop?).`);
  const out: string[] = [];
  let header: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*include(?:\s*=\s*|\s+)(.*)$/i.exec(line);
    if (!m) {
      if (/^\s*(host|match)(\s|=)/i.test(line)) header = line.trim();
      out.push(line);
      continue;
    }
    for (const word of includeWords((m[1] ?? '').replace(/\s+#.*$/, ''))) {
      let pattern = expandTilde(word, homeDir);
      if (!isAbsolute(pattern)) pattern = join(sshDir, pattern);
      const files = /[*?[]/.test(pattern) ? globSync(pattern).sort() : [pattern];
      for (const file of files) {
        const included = readTextIfExists(file);
        if (included === undefined) continue;
        out.push(inlineIncludes(included, sshDir, homeDir, depth + 1));
        out.push(header ?? 'Host *');
      }
    }
  }
  return out.join('\n');
}

/**
 * Makes a parsed config inert: `Match` blocks with an `exec` criterion (negated or not) lose
 * their options, and CanonicalizeHostName is switched off (the library would run nslookup).
 */
function neutralise(config: SSHConfig): void {
  for (const line of config as Line[]) {
    if (line.type !== LineType.DIRECTIVE) continue;
    if ('criteria' in line && /^match$/i.test(line.param)) {
      const criteria = (line as { criteria: Record<string, unknown> }).criteria;
      if (Object.keys(criteria).some((k) => /exec/i.test(k))) line.config.splice(0, line.config.length);
    }
    if ('config' in line) {
      for (const sub of line.config as Line[]) {
        if (sub.type === LineType.DIRECTIVE && /^canonicalizehostname$/i.test(sub.param)) sub.value = 'no';
      }
    }
    if (/^canonicalizehostname$/i.test(line.param)) line.value = 'no';
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Computes the settings for `host` from config text. Pure apart from reading Include files.
 * `sourcePath` is used for messages and to resolve relative Include paths.
 */
export function computeHostConfig(
  text: string,
  host: string,
  options: SshConfigOptions & { sourcePath?: string } = {},
): HostConfig {
  const homeDir = options.homeDir ?? homedir();
  const localUser = options.localUser ?? localUserName();
  const sourcePath = options.sourcePath ?? defaultSshConfigPath(homeDir);
  let config: SSHConfig;
  try {
    const expanded = inlineIncludes(text, join(homeDir, '.ssh'), homeDir, 0);
    config = SSHConfig.parse(expanded);
  } catch (err) {
    throw new Error(
      `Could not parse ssh config ${sourcePath}: ${(err as Error).message}. Fix the file or point Ferry at another one.`,
      { cause: err },
    );
  }
  neutralise(config);
  const computed = config.compute(
    { Host: host, ...(options.user !== undefined ? { User: options.user } : {}) },
    { ignoreCase: true, matchExec: false },
  );

  const result: HostConfig = { identityFiles: [] };
  const hostName = first(computed['hostname']);
  if (hostName) result.hostName = expandTokens(hostName, { h: host, '%': '%' });
  const user = first(computed['user']);
  if (user && options.user === undefined) result.user = user;
  else if (options.user !== undefined) result.user = options.user;
  const portText = first(computed['port']);
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
      throw new Error(
        `ssh config ${sourcePath} sets Port "${portText}" for ${host}; it must be a number from 1 to 65535.`,
      );
    }
    result.port = port;
  }

  const tokens: Record<string, string> = {
    d: homeDir,
    u: localUser,
    h: result.hostName ?? host,
    n: host,
    r: result.user ?? localUser,
    p: String(result.port ?? 22),
  };
  const expandPath = (p: string) => expandTilde(expandTokens(p, tokens), homeDir);
  const identity = computed['identityfile'];
  for (const file of Array.isArray(identity) ? identity : identity ? [identity] : []) {
    if (file.toLowerCase() !== 'none') result.identityFiles.push(expandPath(file));
  }
  const knownHosts = first(computed['userknownhostsfile']);
  if (knownHosts && knownHosts.toLowerCase() !== 'none') result.userKnownHostsFile = expandPath(knownHosts);
  const jump = first(computed['proxyjump']);
  if (jump && jump.toLowerCase() !== 'none') result.proxyJump = jump;
  const proxyCommand = first(computed['proxycommand']);
  if (proxyCommand && proxyCommand.toLowerCase() !== 'none') result.proxyCommand = proxyCommand;
  return result;
}

/**
 * Resolves `host` (an alias or a plain host name) from the ssh config file. A missing file
 * yields empty settings.
 */
export function resolveHostConfig(host: string, options: SshConfigOptions = {}): HostConfig {
  const homeDir = options.homeDir ?? homedir();
  const configPath = options.configPath ?? defaultSshConfigPath(homeDir);
  const text = readTextIfExists(configPath);
  if (text === undefined) return { identityFiles: [], ...(options.user !== undefined ? { user: options.user } : {}) };
  return computeHostConfig(text, host, { ...options, homeDir, sourcePath: configPath });
}
