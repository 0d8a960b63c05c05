/**
 * Parsing of remote target specs (`[user@]host:/abs/path`, `ssh://[user@]host[:port]/abs/path`)
 * and of ProxyJump hop specs (`[user@]host[:port]`).
 *
 * Invariants of every successful parse: `host` is non-empty, never starts with `-` (so it can
 * never be taken for an option by ssh or rsync) and holds no whitespace; `user`, when present,
 * likewise; `port` is an integer 1..65535; `path` is an absolute, normalised POSIX path with no
 * `..` segment and no NUL byte.
 */

export interface ParsedTarget {
  user?: string;
  /** Host name, address (IPv6 without brackets) or ssh config alias. */
  host: string;
  port?: number;
  /** Absolute normalised POSIX path on the server. */
  path: string;
}

export interface ParsedHop {
  user?: string;
  host: string;
  port?: number;
}

const EXPECTED_FORMS = 'expected [user@]host:/absolute/path or ssh://[user@]host[:port]/absolute/path';

function targetError(spec: string, why: string): Error {
  return new Error(`Remote target "${spec}" is not valid: ${why}; ${EXPECTED_FORMS}.`);
}

/**
 * Normalises an absolute remote POSIX path: collapses repeated slashes, drops `.` segments and
 * the trailing slash (except for `/` itself). Throws on a relative path, a NUL byte or a `..`
 * segment: a sync root must say exactly where it is.
 */
export function normalizeRemotePath(path: string): string {
  if (path.includes('\0')) throw new Error(`Remote path ${JSON.stringify(path)} contains a NUL byte.`);
  if (!path.startsWith('/')) {
    throw new Error(`Remote path "${path}" is not absolute; give the full path starting with "/".`);
  }
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new Error(`Remote path "${path}" contains a ".." segment; give the path without "..".`);
  }
  return '/' + segments.join('/');
}

const HOST_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;
const IPV6_LITERAL = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?$/;

/** Checks a host (without brackets); returns an explanation when it is unusable. */
function hostProblem(host: string, bracketed: boolean): string | undefined {
  if (host === '') return 'the host name is empty';
  if (bracketed) return IPV6_LITERAL.test(host) ? undefined : `"[${host}]" is not an IPv6 address`;
  if (host.startsWith('-')) return `host "${host}" starts with "-"`;
  if (!HOST_NAME.test(host)) return `host "${host}" contains characters not allowed in a host name`;
  return undefined;
}

function userProblem(user: string): string | undefined {
  if (user === '') return 'the user name before "@" is empty';
  if (user.startsWith('-')) return `user "${user}" starts with "-"`;
  if (/[\s:/\x00-\x1f\x7f]/.test(user)) return `user "${user}" contains a space, ":", "/" or a control character`;
  return undefined;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

interface Authority {
  user?: string;
  host: string;
  port?: number;
}

/**
 * Parses `[user@]host[:port]` / `[user@][v6]:port` (an URI authority). Returns an explanation
 * string on failure.
 */
function parseAuthority(text: string): Authority | string {
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : undefined;
  const rest = at >= 0 ? text.slice(at + 1) : text;
  if (user !== undefined) {
    const problem = userProblem(user);
    if (problem) return problem;
  }
  let host: string;
  let portText: string | undefined;
  let bracketed = false;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return 'a "[" around an IPv6 address is not closed';
    host = rest.slice(1, close);
    bracketed = true;
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return `unexpected "${after}" after "]"`;
      portText = after.slice(1);
    }
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0 && rest.indexOf(':', colon + 1) >= 0) {
      return `"${rest}" looks like an IPv6 address; write it in brackets, e.g. [${rest}]`;
    }
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
  }
  const problem = hostProblem(host, bracketed);
  if (problem) return problem;
  let port: number | undefined;
  if (portText !== undefined) {
    port = parsePort(portText);
    if (port === undefined) return `port "${portText}" is not a number from 1 to 65535`;
  }
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

function withPath(spec: string, auth: Authority, rawPath: string): ParsedTarget {
  let path: string;
  try {
    path = normalizeRemotePath(rawPath);
  } catch (err) {
    throw targetError(spec, (err as Error).message.replace(/\.$/, ''));
  }
  return { ...auth, path };
}

function parseSshUri(spec: string): ParsedTarget {
  const rest = spec.slice('ssh://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw targetError(spec, 'it has no path after the host');
  const auth = parseAuthority(rest.slice(0, slash));
  if (typeof auth === 'string') throw targetError(spec, auth);
  return withPath(spec, auth, rest.slice(slash));
}

function parseScpLike(spec: string): ParsedTarget {
  const bracket = spec.indexOf('[');
  const firstColon = spec.indexOf(':');
  let separator: number;
  if (bracket >= 0 && (firstColon < 0 || bracket < firstColon)) {
    const close = spec.indexOf(']', bracket);
    if (close < 0) throw targetError(spec, 'a "[" around an IPv6 address is not closed');
    if (spec[close + 1] !== ':') throw targetError(spec, 'the "]" after an IPv6 address must be followed by ":/path"');
    separator = close + 1;
  } else if (firstColon < 0) {
    const hint = spec.includes('/') || spec.startsWith('.') ? ' (it looks like a local path)' : '';
    throw targetError(spec, `it has no ":" between host and path${hint}`);
  } else {
    separator = firstColon;
  }
  const hostPart = spec.slice(0, separator);
  if (hostPart.includes('/')) throw targetError(spec, 'it looks like a local path ("/" before the ":")');
  const auth = parseAuthority(hostPart);
  if (typeof auth === 'string') throw targetError(spec, auth);
  const rawPath = spec.slice(separator + 1);
  if (rawPath === '') throw targetError(spec, 'the remote path after ":" is empty');
  if (/^\d+(:|\/|$)/.test(rawPath)) {
    throw targetError(spec, `"${rawPath}" is not an absolute path; to give a port, use ssh://host:PORT/path`);
  }
  return withPath(spec, auth, rawPath);
}

/**
 * Parses a remote target spec. Forms: `[user@]host:/abs/path`, `alias:/abs/path`,
 * `[user@][::1]:/abs/path`, `ssh://[user@]host[:port]/abs/path`, `ssh://[::1]:2222/abs/path`.
 * A port is only expressible in the `ssh://` form. Throws an Error naming the expected forms.
 */
export function parseTarget(spec: string): ParsedTarget {
  if (spec === '') throw targetError(spec, 'it is empty');
  if (spec.includes('\0')) throw targetError(spec.replaceAll('\0', '\\0'), 'it contains a NUL byte');
  if (/^ssh:\/\//i.test(spec)) return parseSshUri(spec);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(spec)) {
    throw targetError(
      spec,
      `it looks like a URL, and only the ssh:// scheme is supported (for host:path, write a single "/" after the colon)`,
    );
  }
  return parseScpLike(spec);
}

/**
 * Parses one ProxyJump hop: `[user@]host[:port]`, `[user@][v6]:port` or
 * `ssh://[user@]host[:port]` (no path).
 */
export function parseJumpHost(spec: string): ParsedHop {
  let text = spec;
  if (/^ssh:\/\//i.test(text)) {
    text = text.slice('ssh://'.length).replace(/\/$/, '');
    if (text.includes('/'))
      throw new Error(`Jump host "${spec}" is not valid: a jump host has no path; expected [user@]host[:port].`);
  }
  const auth = parseAuthority(text);
  if (typeof auth === 'string')
    throw new Error(`Jump host "${spec}" is not valid: ${auth}; expected [user@]host[:port].`);
  return auth;
}
