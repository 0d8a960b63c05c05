import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendKnownHost,
  formatKnownHostsLine,
  hashKnownHostName,
  knownHostsName,
  lookupHostKeys,
} from '../../main/ssh/known-hosts.ts';

let dir: string;
let keyA: string; // "ssh-ed25519 AAAA..."
let keyB: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-kh-'));
  const gen = (name: string) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', join(dir, name)]);
    return readFileSync(join(dir, `${name}.pub`), 'utf8')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
  };
  keyA = gen('a');
  keyB = gen('b');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** What OpenSSH itself says: ssh-keygen -F. */
function opensshLookup(text: string, host: string, port: number): { found: boolean; revoked: boolean } {
  const file = join(dir, 'oracle_known_hosts');
  writeFileSync(file, text);
  const r = spawnSync('ssh-keygen', ['-F', knownHostsName(host, port), '-f', file], { encoding: 'utf8' });
  return { found: r.status === 0, revoked: /REVOKED/.test(r.stdout) };
}

interface Case {
  name: string;
  line: (a: string, b: string) => string;
  host: string;
  port: number;
  keys: number;
  revoked: number;
}

const cases: Case[] = [
  {
    name: 'plain host, port 22',
    line: (a) => `server.example.com ${a}`,
    host: 'server.example.com',
    port: 22,
    keys: 1,
    revoked: 0,
  },
  {
    name: 'plain entry does not match another port',
    line: (a) => `server.example.com ${a}`,
    host: 'server.example.com',
    port: 2222,
    keys: 0,
    revoked: 0,
  },
  {
    name: '[host]:port entry',
    line: (a) => `[server.example.com]:2222 ${a}`,
    host: 'server.example.com',
    port: 2222,
    keys: 1,
    revoked: 0,
  },
  {
    name: '[host]:port entry does not match port 22',
    line: (a) => `[server.example.com]:2222 ${a}`,
    host: 'server.example.com',
    port: 22,
    keys: 0,
    revoked: 0,
  },
  { name: 'comma list', line: (a) => `alpha,beta,10.0.0.5 ${a}`, host: 'beta', port: 22, keys: 1, revoked: 0 },
  { name: '* wildcard', line: (a) => `*.example.com ${a}`, host: 'db.example.com', port: 22, keys: 1, revoked: 0 },
  {
    name: '* wildcard does not match other domain',
    line: (a) => `*.example.com ${a}`,
    host: 'db.example.org',
    port: 22,
    keys: 0,
    revoked: 0,
  },
  { name: '? wildcard is exactly one char', line: (a) => `web? ${a}`, host: 'web1', port: 22, keys: 1, revoked: 0 },
  { name: '? wildcard needs a char', line: (a) => `web? ${a}`, host: 'web', port: 22, keys: 0, revoked: 0 },
  {
    name: 'wildcard inside [host]:port',
    line: (a) => `[h?st]:2222 ${a}`,
    host: 'host',
    port: 2222,
    keys: 1,
    revoked: 0,
  },
  {
    name: 'negation excludes',
    line: (a) => `*.example.com,!bad.example.com ${a}`,
    host: 'bad.example.com',
    port: 22,
    keys: 0,
    revoked: 0,
  },
  {
    name: 'negation keeps others',
    line: (a) => `*.example.com,!bad.example.com ${a}`,
    host: 'good.example.com',
    port: 22,
    keys: 1,
    revoked: 0,
  },
  { name: 'negation alone matches nothing', line: (a) => `!bad ${a}`, host: 'good', port: 22, keys: 0, revoked: 0 },
  {
    name: 'case-insensitive',
    line: (a) => `Server.Example.COM ${a}`,
    host: 'server.example.com',
    port: 22,
    keys: 1,
    revoked: 0,
  },
  { name: '@revoked with wildcard', line: (a) => `@revoked * ${a}`, host: 'anything', port: 2222, keys: 0, revoked: 1 },
  {
    name: '@cert-authority is ignored',
    line: (a) => `@cert-authority *.example.com ${a}`,
    host: 'x.example.com',
    port: 22,
    keys: 0,
    revoked: 0,
  },
  {
    name: 'comments and blank lines',
    line: (a, b) => `# server ${b}\n\n   \nserver ${a} trailing comment`,
    host: 'server',
    port: 22,
    keys: 1,
    revoked: 0,
  },
  {
    name: 'two keys for one host',
    line: (a, b) => `server ${a}\nother ${a}\nserver ${b}`,
    host: 'server',
    port: 22,
    keys: 2,
    revoked: 0,
  },
  { name: 'IPv6 with port', line: (a) => `[::1]:2222 ${a}`, host: '::1', port: 2222, keys: 1, revoked: 0 },
];

for (const c of cases) {
  test(`lookupHostKeys: ${c.name}`, () => {
    const text = c.line(keyA, keyB) + '\n';
    const found = lookupHostKeys(text, c.host, c.port);
    assert.equal(found.keys.length, c.keys, 'trusted keys');
    assert.equal(found.revoked.length, c.revoked, 'revoked keys');
    for (const k of [...found.keys, ...found.revoked]) assert.equal(k.type, 'ssh-ed25519');
    // Cross-check with OpenSSH (it skips @cert-authority lines for plain key lookups too).
    if (!c.name.includes('cert-authority')) {
      const oracle = opensshLookup(text, c.host, c.port);
      assert.equal(oracle.found, c.keys + c.revoked > 0, 'ssh-keygen -F agrees on whether the host is found');
      assert.equal(oracle.revoked, c.revoked > 0, 'ssh-keygen -F agrees on revocation');
    }
  });
}

test('lookupHostKeys returns key data and line numbers', () => {
  const found = lookupHostKeys(`# c\nserver ${keyA}\n@revoked server ${keyB}\n`, 'server', 22);
  assert.deepEqual(found.keys, [{ type: 'ssh-ed25519', keyBase64: keyA.split(' ')[1], line: 2 }]);
  assert.deepEqual(found.revoked, [{ type: 'ssh-ed25519', keyBase64: keyB.split(' ')[1], line: 3 }]);
});

test('hashed entries: our HMAC equals ssh-keygen -H and lookups find them', () => {
  const file = join(dir, 'hashed_known_hosts');
  writeFileSync(file, `server.example.com ${keyA}\n[127.0.0.1]:2222 ${keyB}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
  const hashed = readFileSync(file, 'utf8');
  const lines = hashed.trim().split('\n');
  assert.equal(lines.length, 2);
  const names = ['server.example.com', '[127.0.0.1]:2222'];
  lines.forEach((line, i) => {
    const field = line.split(' ')[0] ?? '';
    assert.match(field, /^\|1\|/);
    const salt = Buffer.from(field.split('|')[2] ?? '', 'base64');
    assert.equal(hashKnownHostName(names[i] ?? '', salt), field);
  });
  assert.equal(lookupHostKeys(hashed, 'server.example.com', 22).keys[0]?.keyBase64, keyA.split(' ')[1]);
  assert.equal(lookupHostKeys(hashed, '127.0.0.1', 2222).keys[0]?.keyBase64, keyB.split(' ')[1]);
  assert.equal(lookupHostKeys(hashed, '127.0.0.1', 22).keys.length, 0);
  assert.equal(lookupHostKeys(hashed, 'other.example.com', 22).keys.length, 0);
  // A hashed line that is malformed matches nothing rather than throwing.
  assert.equal(lookupHostKeys(`|1|bad|entry ${keyA}\n|2|x|y ${keyA}\n`, 'server', 22).keys.length, 0);
});

test('formatKnownHostsLine writes host for 22 and [host]:port otherwise', () => {
  const [type, b64] = keyA.split(' ') as [string, string];
  assert.equal(formatKnownHostsLine('Server.Example.com', 22, type, b64), `server.example.com ${type} ${b64}`);
  assert.equal(formatKnownHostsLine('127.0.0.1', 2222, type, b64), `[127.0.0.1]:2222 ${type} ${b64}`);
  assert.equal(formatKnownHostsLine('::1', 2222, type, b64), `[::1]:2222 ${type} ${b64}`);
  assert.throws(() => formatKnownHostsLine('a,b', 22, type, b64), /comma/);
  // What we write is what we (and OpenSSH) read back.
  const line = formatKnownHostsLine('127.0.0.1', 2222, type, b64);
  assert.equal(lookupHostKeys(line, '127.0.0.1', 2222).keys.length, 1);
  assert.equal(opensshLookup(line + '\n', '127.0.0.1', 2222).found, true);
});

test('appendKnownHost creates dir 0700 and file 0600, and starts on a fresh line', async () => {
  const path = join(dir, 'new', 'sub', 'known_hosts');
  await appendKnownHost(path, `one ${keyA}`);
  assert.equal(statSync(join(dir, 'new', 'sub')).mode & 0o777, 0o700);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readFileSync(path, 'utf8'), `one ${keyA}\n`);

  const noNewline = join(dir, 'no_newline_known_hosts');
  writeFileSync(noNewline, `old ${keyB}`);
  await appendKnownHost(noNewline, `two ${keyA}\n`);
  assert.equal(readFileSync(noNewline, 'utf8'), `old ${keyB}\ntwo ${keyA}\n`);

  await assert.rejects(
    appendKnownHost(join(noNewline, 'below-a-file'), 'x'),
    /Could not add the host key to .*below-a-file/,
  );
});
