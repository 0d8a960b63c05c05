/**
 * Host key verification against a known_hosts file, with the two policies Ferry offers:
 * `strict` (only keys already in the file) and `accept-new` (pin the key of a host the file
 * does not know yet). Under both policies a host the file knows that presents a different key,
 * or a key marked `@revoked`, is refused: that is never overridable.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { HostKeyPolicy } from './endpoint.ts';
import { appendKnownHost, formatKnownHostsLine, knownHostsName, lookupHostKeys } from './known-hosts.ts';

/** `SHA256:<base64, no padding>` of a public key blob, as printed by `ssh-keygen -lf`. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type named at the start of an SSH public key blob (its first SSH string). */
export function keyTypeOfBlob(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new Error('The server sent a malformed host key (too short).');
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > keyBlob.length)
    throw new Error('The server sent a malformed host key (bad type field).');
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

export type HostKeyErrorKind = 'unknown' | 'changed' | 'revoked';

/** A refused host key. `message` tells the user what to check and how to fix it. */
export class HostKeyError extends Error {
  readonly kind: HostKeyErrorKind;
  readonly host: string;
  readonly port: number;
  readonly presentedFingerprint: string;
  /** Fingerprints the known_hosts file holds for this host (for 'revoked': the revoked one). */
  readonly knownFingerprints: string[];
  readonly knownHostsPath: string;

  constructor(fields: {
    kind: HostKeyErrorKind;
    host: string;
    port: number;
    presentedFingerprint: string;
    knownFingerprints: string[];
    knownHostsPath: string;
    message: string;
  }) {
    super(fields.message);
    this.name = 'HostKeyError';
    this.kind = fields.kind;
    this.host = fields.host;
    this.port = fields.port;
    this.presentedFingerprint = fields.presentedFingerprint;
    this.knownFingerprints = fields.knownFingerprints;
    this.knownHostsPath = fields.knownHostsPath;
  }
}

export interface VerifyHostKeyInput {
  knownHostsPath: string;
  host: string;
  port: number;
  policy: HostKeyPolicy;
  /** The raw public key blob the server presented. */
  presentedKey: Buffer;
}

export type VerifyHostKeyResult = { ok: true; pinned: boolean } | { ok: false; error: HostKeyError };

async function readKnownHosts(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new Error(`Could not read known_hosts file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function fingerprintOfBase64(keyBase64: string): string {
  return fingerprintSha256(Buffer.from(keyBase64, 'base64'));
}

function removeHint(name: string, path: string): string {
  return `ssh-keygen -R '${name}' -f '${path}'`;
}

/**
 * Checks the presented host key. Resolves `{ ok: false }` for a refused key; rejects only when
 * the known_hosts file cannot be read or written.
 */
export async function verifyHostKey(input: VerifyHostKeyInput): Promise<VerifyHostKeyResult> {
  const { knownHostsPath, host, port, policy, presentedKey } = input;
  const name = knownHostsName(host, port);
  const presentedType = keyTypeOfBlob(presentedKey);
  const presentedFingerprint = fingerprintSha256(presentedKey);
  const sameKey = (k: { type: string; keyBase64: string }) =>
    k.type === presentedType && Buffer.from(k.keyBase64, 'base64').equals(presentedKey);

  const text = await readKnownHosts(knownHostsPath);
  const found = lookupHostKeys(text, host, port);

  const revoked = found.revoked.find(sameKey);
  if (revoked) {
    return {
      ok: false,
      error: new HostKeyError({
        kind: 'revoked',
        host,
        port,
        presentedFingerprint,
        knownFingerprints: [presentedFingerprint],
        knownHostsPath,
        message:
          `The host key ${presentedFingerprint} presented by ${name} is marked @revoked in ${knownHostsPath} ` +
          `(line ${revoked.line}); Ferry will not connect. Check with the server's administrator which key the server should have.`,
      }),
    };
  }

  if (found.keys.some(sameKey)) return { ok: true, pinned: false };

  if (found.keys.length > 0) {
    const knownFingerprints = [...new Set(found.keys.map((k) => fingerprintOfBase64(k.keyBase64)))];
    const lines = found.keys.map((k) => k.line).join(', ');
    return {
      ok: false,
      error: new HostKeyError({
        kind: 'changed',
        host,
        port,
        presentedFingerprint,
        knownFingerprints,
        knownHostsPath,
        message:
          `WARNING: the host key for ${name} has changed. The server presented ${presentedType} ${presentedFingerprint}, ` +
          `but ${knownHostsPath} (line ${lines}) has ${knownFingerprints.join(', ')}. ` +
          `Someone could be intercepting the connection, or the server's key was replaced. ` +
          `Check the new fingerprint with the server's administrator; if the change is expected, remove the old line with ` +
          `\`${removeHint(name, knownHostsPath)}\` and connect again.`,
      }),
    };
  }

  if (policy === 'accept-new') {
    // Re-read just before appending so two connections racing to pin the same host add one line
    // in the common case; a duplicate line would be harmless anyway.
    const again = lookupHostKeys(await readKnownHosts(knownHostsPath), host, port);
    if (again.keys.some(sameKey)) return { ok: true, pinned: false };
    if (again.keys.length === 0 && !again.revoked.some(sameKey)) {
      await appendKnownHost(
        knownHostsPath,
        formatKnownHostsLine(host, port, presentedType, presentedKey.toString('base64')),
      );
      return { ok: true, pinned: true };
    }
    return verifyHostKey(input);
  }

  return {
    ok: false,
    error: new HostKeyError({
      kind: 'unknown',
      host,
      port,
      presentedFingerprint,
      knownFingerprints: [],
      knownHostsPath,
      message:
        `The host key for ${name} is not in ${knownHostsPath}. The server presented ${presentedType} ${presentedFingerprint}. ` +
        `Connect once with --host-key-policy accept-new, or add it with ` +
        `\`ssh-keyscan -p ${port} -t ${presentedType} ${host} >> '${knownHostsPath}'\` ` +
        `after checking the fingerprint ${presentedFingerprint} with the server's administrator.`,
    }),
  };
}
