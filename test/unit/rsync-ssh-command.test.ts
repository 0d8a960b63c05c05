import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshEndpoint } from '../../main/ssh/endpoint.ts';
import { jumpConfigFor, jumpHopAlias, rsyncRshString, sshArgsFor } from '../../main/transport/ssh-command.ts';
import { createRsyncTransport, globEscapedRoot } from '../../main/transport/rsync-transport.ts';

const base: SshEndpoint = {
  host: 'example.com',
  port: 2222,
  user: 'alice',
  displayName: 'web',
  remoteRoot: '/srv/site',
  identityFiles: ['/keys/with space/id_ed25519', '/keys/100%/id'],
  agentSocket: null,
  knownHostsPath: '/home/alice/.ssh/known_hosts',
  hostKeyPolicy: 'accept-new',
};

/** The value following each `-o`. */
const options = (args: string[]) => args.flatMap((a, i) => (args[i - 1] === '-o' ? [a] : []));

test('ssh args pin identity and known_hosts, never prompt, and never add host keys (even for accept-new)', () => {
  const args = sshArgsFor(base);
  assert.deepEqual(args.slice(0, 6), ['-F', '/dev/null', '-p', '2222', '-l', 'alice']);
  const o = options(args);
  assert.ok(o.includes('IdentityFile "/keys/with space/id_ed25519"'));
  assert.ok(o.includes('IdentityFile "/keys/100%%/id"'), 'percent signs are doubled so ssh does not expand them');
  assert.ok(o.includes('IdentitiesOnly yes'));
  assert.ok(o.includes('IdentityAgent none'));
  assert.ok(o.includes('UserKnownHostsFile "/home/alice/.ssh/known_hosts"'));
  assert.ok(o.includes('StrictHostKeyChecking yes'));
  assert.ok(o.includes('GlobalKnownHostsFile /dev/null'));
  assert.ok(o.includes('BatchMode yes'));
  assert.ok(!args.includes('example.com'), 'the host is appended by the caller (rsync)');
});

test('quotes and backslashes in paths are escaped for ssh config parsing', () => {
  const o = options(sshArgsFor({ ...base, identityFiles: ['/k/a"b\\c'] }));
  assert.ok(o.includes('IdentityFile "/k/a\\"b\\\\c"'));
});

test('a password-only endpoint is refused with a sentence', () => {
  assert.throws(
    () => sshArgsFor({ ...base, identityFiles: [], agentSocket: null, password: 'pw' }),
    /rsync transport needs key or agent authentication.*only a password/,
  );
  assert.throws(
    () => createRsyncTransport({ ...base, identityFiles: [], agentSocket: null, password: 'pw' }, '/tmp'),
    /key or agent/,
  );
});

test('paths ssh would expand with no escape, and option-like hosts, are refused', () => {
  assert.throws(() => sshArgsFor({ ...base, knownHostsPath: '/x/${HOME}/kh' }), /cannot take literally/);
  assert.throws(() => sshArgsFor({ ...base, host: '-oProxyCommand=x' }), /not a valid host name/);
});

test('jump hosts get their own identity and known_hosts through a generated config', () => {
  const hop1: SshEndpoint = {
    ...base,
    host: 'bastion',
    port: 22,
    user: 'bob',
    identityFiles: ['/keys/bastion'],
    knownHostsPath: '/kh/bastion',
  };
  const hop2: SshEndpoint = { ...hop1, host: 'inner', identityFiles: ['/keys/inner'], knownHostsPath: '/kh/inner' };
  const ep = { ...base, jump: [hop1, hop2] };
  assert.throws(() => sshArgsFor(ep), /jump hosts/);
  assert.throws(() => sshArgsFor(ep, '/tmp/with space/config'), /unsafe/);
  const args = sshArgsFor(ep, '/tmp/ferry-ssh-x/config');
  assert.deepEqual(args.slice(0, 2), ['-F', '/tmp/ferry-ssh-x/config']);
  assert.ok(options(args).includes(`ProxyJump ${jumpHopAlias(1)}`));
  const config = jumpConfigFor(ep);
  const blocks = config.split(/\n(?=Host )/);
  assert.equal(blocks.length, 2);
  assert.match(
    blocks[0] as string,
    /Host ferry-hop-0\.invalid\n {2}HostName "bastion"[\s\S]*IdentityFile "\/keys\/bastion"[\s\S]*UserKnownHostsFile "\/kh\/bastion"/,
  );
  assert.doesNotMatch(blocks[0] as string, /ProxyJump/);
  assert.match(
    blocks[1] as string,
    /HostName "inner"[\s\S]*IdentityFile "\/keys\/inner"[\s\S]*ProxyJump ferry-hop-0\.invalid/,
  );
});

test('rsync splits the -e string back into exactly the original arguments', () => {
  // rsync runs the -e program; here that program records its argv instead of connecting.
  const dir = mkdtempSync(join(tmpdir(), 'ferry-rsh-'));
  try {
    const script = join(dir, "record argv's.mjs");
    const out = join(dir, 'argv.json');
    writeFileSync(
      script,
      `import { writeFileSync } from 'node:fs'; writeFileSync(process.env.FERRY_ARGV_OUT, JSON.stringify(process.argv.slice(2))); process.exit(1);\n`,
    );
    const weird = [
      'a b',
      "it's",
      'say "hi"',
      '',
      'tab\there',
      'new\nline',
      '$(touch x)',
      "''",
      '""',
      '-x',
      'ü',
      '\\back',
      '  lead',
    ];
    const rsh = rsyncRshString([process.execPath, script, ...weird]);
    spawnSync('rsync', ['-e', rsh, 'somehost:/x/', join(dir, 'dest')], {
      env: { ...process.env, FERRY_ARGV_OUT: out },
      encoding: 'utf8',
    });
    const argv = JSON.parse(readFileSync(out, 'utf8')) as string[];
    assert.deepEqual(argv.slice(0, weird.length), weird);
    assert.equal(argv[weird.length], 'somehost');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('remote root components with glob characters are escaped for rsync, others are literal', () => {
  assert.equal(globEscapedRoot('/srv/my site [1]*/x\\y/'), '/srv/my site \\[1\\]\\*/x\\y/');
  assert.equal(globEscapedRoot('/srv/a\\b[x]'), '/srv/a\\\\b\\[x\\]/');
  assert.equal(globEscapedRoot('/'), '/');
});
