/**
 * The OpenSSH client command line that gives subprocesses (rsync's remote shell, or any
 * direct `ssh` use) the same identity and host-key checking as the SFTP connection.
 *
 * Decisions, each deliberate:
 * - `-F /dev/null` (or Ferry's own generated config when there are jump hosts): the
 *   endpoint was already resolved from ~/.ssh/config, so reading it again could only
 *   override that result (extra IdentityFiles, ControlMaster, RemoteCommand, ...).
 * - `StrictHostKeyChecking=yes` always, even for the accept-new policy: the SFTP connection
 *   pins a new key first; subprocesses never add keys. `GlobalKnownHostsFile=/dev/null`:
 *   only `knownHostsPath` counts, as for SFTP.
 * - `BatchMode=yes`: never prompt. Password authentication therefore cannot work, and a
 *   passphrase-protected key works only through the agent.
 * - Every file path goes in as a quoted `-o` config value with `%` doubled, because ssh
 *   splits `-o` values on spaces and expands `%` tokens in them (even `-i` paths are
 *   %-expanded, with no escape, hence `-o IdentityFile=` instead of `-i`).
 *   `${` cannot be escaped in ssh at all, so such paths are refused.
 * - Jump hosts: ssh runs a ProxyJump hop as `ssh -F <config> -W ... <hop>` through
 *   `sh -c`, passing on nothing but `-F`. So each hop's identity and known_hosts live in a
 *   generated config file ({@link jumpConfigFor}); only that file's path (checked to be
 *   shell-safe) and Ferry's own hop aliases ever reach that shell.
 */
import type { SshEndpoint } from '../ssh/endpoint.ts';

/** Host alias of jump hop `i` in the generated config; `.invalid` so it never matches a real host. */
export function jumpHopAlias(i: number): string {
  return `ferry-hop-${i}.invalid`;
}

/** Characters a path may consist of to be passed through ssh's ProxyJump shell command unquoted. */
const SHELL_SAFE_PATH = /^[A-Za-z0-9_./-]+$/;

/**
 * `ssh` options (without the program name and without the host, which the caller appends
 * last) for `endpoint`. Throws, with a sentence for the user, when the endpoint can only
 * authenticate by password, or names a path or host ssh cannot take safely.
 *
 * @param jumpConfigPath file holding {@link jumpConfigFor}(endpoint); required when the
 *   endpoint has jump hosts.
 */
export function sshArgsFor(endpoint: SshEndpoint, jumpConfigPath?: string): string[] {
  assertKeyAuthPossible(endpoint);
  checkHost(endpoint);
  const hops = endpoint.jump ?? [];
  const args: string[] = [];
  if (hops.length > 0) {
    if (jumpConfigPath === undefined)
      throw new Error(
        `Connecting to ${endpoint.displayName} goes through jump hosts, which need a generated ssh config file; none was given.`,
      );
    if (!SHELL_SAFE_PATH.test(jumpConfigPath))
      throw new Error(
        `The temporary ssh config path ${jumpConfigPath} contains characters that are unsafe in ssh's ProxyJump command. Set TMPDIR to a plain path such as /tmp.`,
      );
    args.push('-F', jumpConfigPath);
  } else {
    args.push('-F', '/dev/null');
  }
  args.push('-p', String(endpoint.port), '-l', endpoint.user);
  for (const line of commonOptions(endpoint)) args.push('-o', line);
  if (hops.length > 0) args.push('-o', `ProxyJump ${jumpHopAlias(hops.length - 1)}`);
  return args;
}

/**
 * ssh_config text defining every jump hop of `endpoint` as `Host ferry-hop-N.invalid`
 * with its own identity, agent and known_hosts, each hop reached through the previous one.
 * Empty when there are no hops.
 */
export function jumpConfigFor(endpoint: SshEndpoint): string {
  const hops = endpoint.jump ?? [];
  const blocks = hops.map((hop, i) => {
    assertKeyAuthPossible(hop);
    checkHost(hop);
    const lines = [
      `Host ${jumpHopAlias(i)}`,
      `  HostName ${configValue(hop.host, 'host name')}`,
      `  Port ${hop.port}`,
      `  User ${configValue(hop.user, 'user name')}`,
      ...commonOptions(hop).map((l) => `  ${l}`),
    ];
    if (i > 0) lines.push(`  ProxyJump ${jumpHopAlias(i - 1)}`);
    return lines.join('\n');
  });
  return blocks.length ? `${blocks.join('\n\n')}\n` : '';
}

/**
 * The `-e`/`--rsh` string for rsync. rsync splits it itself: on spaces only, with '…' or
 * "…" quoting in which a doubled quote stands for one quote character (no backslash
 * escapes). Every argument is single-quoted that way, so any byte but NUL survives.
 */
export function rsyncRshString(args: readonly string[]): string {
  return args.map((a) => `'${a.replaceAll("'", "''")}'`).join(' ');
}

function commonOptions(ep: SshEndpoint): string[] {
  const lines: string[] = [];
  for (const file of ep.identityFiles) lines.push(`IdentityFile ${configValue(file, 'identity file path')}`);
  if (ep.identityFiles.length > 0) lines.push('IdentitiesOnly yes');
  if (ep.agentSocket === null) lines.push('IdentityAgent none');
  else if (typeof ep.agentSocket === 'string')
    lines.push(`IdentityAgent ${configValue(ep.agentSocket, 'agent socket path')}`);
  lines.push(
    `UserKnownHostsFile ${configValue(ep.knownHostsPath, 'known_hosts path')}`,
    'GlobalKnownHostsFile /dev/null',
    'StrictHostKeyChecking yes',
    'BatchMode yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'ConnectTimeout 20',
    'ServerAliveInterval 15',
    'ServerAliveCountMax 3',
  );
  return lines;
}

/**
 * A value quoted for ssh's config-line parser (used by `-o` and by config files alike):
 * double quotes, `\` and `"` backslash-escaped, `%` doubled (ssh expands %-tokens in
 * paths). Refuses what cannot be expressed: `${` (environment expansion has no escape) and
 * line breaks.
 */
function configValue(value: string, what: string): string {
  if (value.includes('${') || /[\n\r\0]/.test(value))
    throw new Error(
      `The ${what} ${JSON.stringify(value)} contains "\${" or a line break, which ssh cannot take literally. Move or rename it.`,
    );
  const escaped = value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%');
  return `"${escaped}"`;
}

function checkHost(ep: SshEndpoint): void {
  if (ep.host === '' || ep.host.startsWith('-') || /[\s@/'"`$\\]/.test(ep.host))
    throw new Error(`The host name ${JSON.stringify(ep.host)} of ${ep.displayName} is not a valid host name for ssh.`);
  if (ep.user.startsWith('-') || /[\n\r\0]/.test(ep.user))
    throw new Error(`The user name ${JSON.stringify(ep.user)} for ${ep.displayName} is not valid for ssh.`);
}

function assertKeyAuthPossible(ep: SshEndpoint): void {
  const agent = ep.agentSocket === undefined ? process.env.SSH_AUTH_SOCK : ep.agentSocket;
  if (ep.identityFiles.length === 0 && !agent)
    throw new Error(
      `The rsync transport needs key or agent authentication, but ${ep.displayName} has ${
        ep.password !== undefined ? 'only a password' : 'no key file and no ssh-agent'
      }. Add an IdentityFile for it, load a key into ssh-agent, or use the SFTP transport.`,
    );
}
