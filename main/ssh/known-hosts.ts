/**
 * OpenSSH known_hosts files: lookup and appending.
 *
 * Supported per line: `[@revoked] patterns keytype base64key [comment]`, where patterns is a
 * comma list of host patterns (`*` and `?` wildcards, `!negated` patterns, `[host]:port` for
 * ports other than 22) or one hashed entry `|1|base64salt|base64hmac`. Matching is
 * case-insensitive, as OpenSSH lowercases host names before looking them up.
 *
 * `@cert-authority` lines are ignored: Ferry does not accept host certificates, so a CA line
 * neither trusts nor refuses a plain host key. Lines with an unknown marker or too few fields
 * are skipped, like OpenSSH does.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface KnownHostKey {
  /** Key type as written, e.g. `ssh-ed25519`. */
  type: string;
  keyBase64: string;
  /** 1-based line number in the file, for messages. */
  line: number;
}

export interface HostKeyLookup {
  /** Keys the file trusts for this host and port. */
  keys: KnownHostKey[];
  /** Keys marked `@revoked` for this host and port: always refused. */
  revoked: KnownHostKey[];
}

/** The name known_hosts stores a host under: `host` for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH wildcard match: `*` any run of characters, `?` exactly one. */
function wildcardMatch(pattern: string, text: string): boolean {
  let regex = '^';
  for (const ch of pattern) {
    if (ch === '*') regex += '.*';
    else if (ch === '?') regex += '.';
    else regex += ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }
  return new RegExp(regex + '$', 's').test(text);
}

/** `|1|salt|hmac` for `name` hashed with `salt`, exactly as `ssh-keygen -H` writes it. */
export function hashKnownHostName(name: string, salt: Buffer): string {
  const hmac = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hmac.toString('base64')}`;
}

function hashedEntryMatches(entry: string, name: string): boolean {
  const parts = entry.split('|');
  // ['', '1', salt, hmac]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const expected = Buffer.from(parts[3] ?? '', 'base64');
  if (salt.length === 0 || expected.length !== 20) return false;
  const actual = createHmac('sha1', salt).update(name).digest();
  return timingSafeEqual(actual, expected);
}

/**
 * Whether a host-pattern field matches `name` (already lowercased). A matching negated
 * pattern makes the whole field fail, whatever else matches.
 */
export function hostPatternsMatch(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedEntryMatches(field, name);
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (pattern === '') continue;
    if (wildcardMatch(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Finds the trusted and revoked keys for `host`:`port` in known_hosts text. */
export function lookupHostKeys(text: string, host: string, port: number): HostKeyLookup {
  const name = knownHostsName(host.toLowerCase(), port);
  const result: HostKeyLookup = { keys: [], revoked: [] };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const fields = (lines[i] ?? '').trim().split(/[ \t]+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: string | undefined;
    if (fields[0].startsWith('@')) marker = fields.shift();
    if (marker !== undefined && marker !== '@revoked') continue; // @cert-authority or unknown
    const [patterns, type, keyBase64] = fields;
    if (patterns === undefined || type === undefined || keyBase64 === undefined) continue;
    if (/^\d+$/.test(type)) continue; // SSH-1 RSA line
    if (!hostPatternsMatch(patterns, name)) continue;
    (marker === '@revoked' ? result.revoked : result.keys).push({ type, keyBase64, line: i + 1 });
  }
  return result;
}

/** One known_hosts line (no newline) pinning `keyBase64` for `host`:`port`, unhashed. */
export function formatKnownHostsLine(host: string, port: number, keyType: string, keyBase64: string): string {
  if (/[\s,]/.test(host) || /\s/.test(keyType) || /\s/.test(keyBase64)) {
    throw new Error(
      `Cannot write a known_hosts line for host "${host}": the host or key contains whitespace or a comma.`,
    );
  }
  return `${knownHostsName(host.toLowerCase(), port)} ${keyType} ${keyBase64}`;
}

/**
 * Appends one line to a known_hosts file, creating the file (mode 0600) and its directory
 * (0700) when missing. The line goes out in one append-mode write (starting on a fresh line
 * if the file did not end with one) and is fsynced before this resolves.
 */
export async function appendKnownHost(path: string, line: string): Promise<void> {
  const text = line.endsWith('\n') ? line : line + '\n';
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const fh = await open(path, 'a+', 0o600);
    try {
      const { size } = await fh.stat();
      let prefix = '';
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
      await fh.write(prefix + text);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new Error(`Could not add the host key to ${path}: ${(err as Error).message}`, { cause: err });
  }
}
