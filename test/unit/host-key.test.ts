import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostKeyError, fingerprintSha256, keyTypeOfBlob, verifyHostKey } from '../../main/ssh/host-key.ts';

let dir: string;
interface Key {
  type: string;
  b64: string;
  blob: Buffer;
  keygenFingerprint: string;
}
let ed: Key;
let ed2: Key;
let rsa: Key;

function makeKey(name: string, args: string[]): Key {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', '', '-f', path]);
  const [type, b64] = readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  // `ssh-keygen -lf` prints "<bits> SHA256:... <comment> (<TYPE>)".
  const keygenFingerprint =
    execFileSync('ssh-keygen', ['-lf', `${path}.pub`], { encoding: 'utf8' }).split(/\s+/)[1] ?? '';
  return { type, b64, blob: Buffer.from(b64, 'base64'), keygenFingerprint };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-hostkey-'));
  ed = makeKey('ed', ['-t', 'ed25519']);
  ed2 = makeKey('ed2', ['-t', 'ed25519']);
  rsa = makeKey('rsa', ['-t', 'rsa', '-b', '2048']);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('fingerprintSha256 equals ssh-keygen -lf', () => {
  for (const k of [ed, ed2, rsa]) {
    assert.match(k.keygenFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(fingerprintSha256(k.blob), k.keygenFingerprint);
  }
});

test('keyTypeOfBlob reads the first SSH string and refuses garbage', () => {
  assert.equal(keyTypeOfBlob(ed.blob), 'ssh-ed25519');
  assert.equal(keyTypeOfBlob(rsa.blob), 'ssh-rsa');
  assert.throws(() => keyTypeOfBlob(Buffer.from([0, 0])), /malformed/);
  assert.throws(() => keyTypeOfBlob(Buffer.from([0, 0, 0, 200, 1])), /malformed/);
});

function khFile(name: string, text?: string): string {
  const path = join(dir, name);
  if (text !== undefined) writeFileSync(path, text);
  return path;
}

test('strict + unknown host is refused with instructions, and nothing is written', async () => {
  const path = khFile('kh-unknown');
  const result = await verifyHostKey({
    knownHostsPath: path,
    host: 'srv.example',
    port: 2222,
    policy: 'strict',
    presentedKey: ed.blob,
  });
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.ok(result.error instanceof HostKeyError);
  assert.equal(result.error.kind, 'unknown');
  assert.equal(result.error.presentedFingerprint, ed.keygenFingerprint);
  assert.deepEqual(result.error.knownFingerprints, []);
  assert.match(result.error.message, /The host key for \[srv\.example\]:2222 is not in /);
  assert.match(result.error.message, /--host-key-policy accept-new/);
  assert.match(result.error.message, /ssh-keyscan -p 2222 -t ssh-ed25519 srv\.example/);
  assert.ok(result.error.message.includes(ed.keygenFingerprint));
  assert.equal(existsSync(path), false);
});

test('a known matching key is accepted without writing', async () => {
  const text = `srv.example ${ed.type} ${ed.b64}\n`;
  const path = khFile('kh-known', text);
  const result = await verifyHostKey({
    knownHostsPath: path,
    host: 'srv.example',
    port: 22,
    policy: 'strict',
    presentedKey: ed.blob,
  });
  assert.deepEqual(result, { ok: true, pinned: false });
  assert.equal(readFileSync(path, 'utf8'), text);
});

test('accept-new pins an unknown host, then strict accepts it', async () => {
  const path = join(dir, 'fresh', 'known_hosts');
  const first = await verifyHostKey({
    knownHostsPath: path,
    host: '127.0.0.1',
    port: 2222,
    policy: 'accept-new',
    presentedKey: ed.blob,
  });
  assert.deepEqual(first, { ok: true, pinned: true });
  assert.equal(readFileSync(path, 'utf8'), `[127.0.0.1]:2222 ${ed.type} ${ed.b64}\n`);
  const second = await verifyHostKey({
    knownHostsPath: path,
    host: '127.0.0.1',
    port: 2222,
    policy: 'strict',
    presentedKey: ed.blob,
  });
  assert.deepEqual(second, { ok: true, pinned: false });
});

for (const policy of ['strict', 'accept-new'] as const) {
  test(`${policy}: a changed key is refused with both fingerprints and the ssh-keygen -R hint`, async () => {
    const text = `[srv]:2200 ${ed.type} ${ed.b64}\n`;
    const path = khFile(`kh-changed-${policy}`, text);
    const result = await verifyHostKey({
      knownHostsPath: path,
      host: 'srv',
      port: 2200,
      policy,
      presentedKey: ed2.blob,
    });
    assert.ok(!result.ok);
    assert.equal(result.error.kind, 'changed');
    assert.equal(result.error.host, 'srv');
    assert.equal(result.error.port, 2200);
    assert.equal(result.error.presentedFingerprint, ed2.keygenFingerprint);
    assert.deepEqual(result.error.knownFingerprints, [ed.keygenFingerprint]);
    assert.ok(result.error.message.includes(ed.keygenFingerprint));
    assert.ok(result.error.message.includes(ed2.keygenFingerprint));
    assert.ok(result.error.message.includes(`ssh-keygen -R '[srv]:2200' -f '${path}'`));
    assert.match(result.error.message, /administrator/);
    assert.equal(readFileSync(path, 'utf8'), text, 'the file is untouched');
  });
}

test('a known host presenting a key of another type is refused as changed', async () => {
  const path = khFile('kh-othertype', `srv ${rsa.type} ${rsa.b64}\n`);
  const result = await verifyHostKey({
    knownHostsPath: path,
    host: 'srv',
    port: 22,
    policy: 'accept-new',
    presentedKey: ed.blob,
  });
  assert.ok(!result.ok);
  assert.equal(result.error.kind, 'changed');
  assert.ok(result.error.message.includes("ssh-keygen -R 'srv'"));
});

test('a revoked key is refused even when also listed as trusted, under accept-new', async () => {
  const text = `srv ${ed.type} ${ed.b64}\n@revoked * ${ed.type} ${ed.b64}\n`;
  const path = khFile('kh-revoked', text);
  const result = await verifyHostKey({
    knownHostsPath: path,
    host: 'srv',
    port: 22,
    policy: 'accept-new',
    presentedKey: ed.blob,
  });
  assert.ok(!result.ok);
  assert.equal(result.error.kind, 'revoked');
  assert.match(result.error.message, /@revoked/);
  assert.equal(readFileSync(path, 'utf8'), text);

  const unknownHost = await verifyHostKey({
    knownHostsPath: path,
    host: 'new-host',
    port: 22,
    policy: 'accept-new',
    presentedKey: ed.blob,
  });
  assert.ok(!unknownHost.ok);
  assert.equal(unknownHost.error.kind, 'revoked');
  assert.equal(readFileSync(path, 'utf8'), text, 'a revoked key is never pinned');
});

test('an unreadable known_hosts path rejects with a message naming it', async () => {
  const path = khFile('kh-is-a-dir');
  mkdirSync(path);
  await assert.rejects(
    verifyHostKey({ knownHostsPath: path, host: 'srv', port: 22, policy: 'strict', presentedKey: ed.blob }),
    new RegExp(`Could not read known_hosts file ${path}`),
  );
});
