import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { computeHostConfig, expandTokens, resolveHostConfig } from '../../main/ssh/ssh-config.ts';

function withHome(fn: (home: string) => void): void {
  const home = mkdtempSync(join(tmpdir(), 'ferry-sshcfg-'));
  try {
    mkdirSync(join(home, '.ssh'));
    fn(home);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const opts = (home: string) => ({ homeDir: home, localUser: 'localme' });

test('resolves HostName, User, Port, IdentityFile, ProxyJump and UserKnownHostsFile', () => {
  withHome((home) => {
    const text = [
      'Host web',
      '  HostName web.internal.example',
      '  User deploy',
      '  Port 2222',
      '  IdentityFile ~/.ssh/id_web',
      '  IdentityFile /keys/%u-%r@%h_%%',
      '  ProxyJump ops@bastion:22',
      '  UserKnownHostsFile ~/.ssh/kh_web ~/.ssh/kh_second',
      '',
      'Host *',
      '  User fallback',
      '  IdentityFile %d/.ssh/id_all',
    ].join('\n');
    const cfg = computeHostConfig(text, 'web', opts(home));
    assert.equal(cfg.hostName, 'web.internal.example');
    assert.equal(cfg.user, 'deploy');
    assert.equal(cfg.port, 2222);
    assert.deepEqual(cfg.identityFiles, [
      join(home, '.ssh/id_web'),
      '/keys/localme-deploy@web.internal.example_%',
      join(home, '.ssh/id_all'),
    ]);
    assert.equal(cfg.proxyJump, 'ops@bastion:22');
    assert.equal(cfg.userKnownHostsFile, join(home, '.ssh/kh_web'));

    const other = computeHostConfig(text, 'elsewhere', opts(home));
    assert.equal(other.hostName, undefined);
    assert.equal(other.user, 'fallback');
    assert.equal(other.port, undefined);
    assert.equal(other.proxyJump, undefined);
  });
});

test('first value wins, directive names are case-insensitive, explicit user wins', () => {
  withHome((home) => {
    const text = 'Host a\n  hostname first.example\nHost *\n  HOSTNAME second.example\n  user cfguser\n';
    assert.equal(computeHostConfig(text, 'a', opts(home)).hostName, 'first.example');
    assert.equal(computeHostConfig(text, 'b', opts(home)).hostName, 'second.example');
    assert.equal(computeHostConfig(text, 'a', { ...opts(home), user: 'cli' }).user, 'cli');
  });
});

test('HostName %h expands to the alias; ProxyJump none and ProxyCommand are reported', () => {
  withHome((home) => {
    const text = 'Host *.short\n  HostName %h.corp.example\n  ProxyJump none\nHost pc\n  ProxyCommand nc %h %p\n';
    const cfg = computeHostConfig(text, 'db.short', opts(home));
    assert.equal(cfg.hostName, 'db.short.corp.example');
    assert.equal(cfg.proxyJump, undefined);
    assert.equal(computeHostConfig(text, 'pc', opts(home)).proxyCommand, 'nc %h %p');
  });
});

test('Match exec is never executed and its options are never applied', () => {
  withHome((home) => {
    const markers = [1, 2, 3].map(() => join(tmpdir(), `ferry-x-${randomBytes(8).toString('hex')}`));
    const text = [
      `Match exec "touch ${markers[0]}"`,
      '  HostName evil.example',
      '  User evil',
      `Match host target exec "touch ${markers[1]}"`,
      '  Port 6666',
      `Match !exec "touch ${markers[2]}"`,
      '  IdentityFile /evil/key',
      'Match all',
      '  UserKnownHostsFile /kh/all',
      'Host target',
      '  HostName good.example',
    ].join('\n');
    try {
      const cfg = computeHostConfig(text, 'target', opts(home));
      for (const m of markers) assert.equal(existsSync(m), false, `${m} must not be created`);
      assert.equal(cfg.hostName, 'good.example');
      assert.equal(cfg.user, undefined);
      assert.equal(cfg.port, undefined);
      assert.deepEqual(cfg.identityFiles, []);
      // A Match without exec still works.
      assert.equal(cfg.userKnownHostsFile, '/kh/all');
    } finally {
      for (const m of markers) rmSync(m, { force: true });
    }
  });
});

test('CanonicalizeHostName does not trigger lookups or change the host', () => {
  withHome((home) => {
    const text = 'Host box\n  CanonicalizeHostName yes\n  CanonicalDomains example.invalid\n  User u\n';
    const cfg = computeHostConfig(text, 'box', opts(home));
    assert.equal(cfg.hostName, undefined);
    assert.equal(cfg.user, 'u');
  });
});

test('Include inlines files (relative to ~/.ssh, globs) and restores the enclosing section', () => {
  withHome((home) => {
    mkdirSync(join(home, '.ssh', 'conf.d'));
    writeFileSync(join(home, '.ssh', 'conf.d', '10-web'), 'Host web\n  HostName web.inc.example\n');
    writeFileSync(join(home, '.ssh', 'conf.d', '20-db'), 'Host db\n  Port 5522\n');
    writeFileSync(join(home, '.ssh', 'extra'), '  User fromextra\nHost other\n  User other\n');
    const configPath = join(home, '.ssh', 'config');
    writeFileSync(
      configPath,
      ['Include conf.d/*', 'Host web', '  Include extra', '  Port 2020', 'Include ~/.ssh/missing-file'].join('\n'),
    );
    const web = resolveHostConfig('web', { ...opts(home), configPath });
    assert.equal(web.hostName, 'web.inc.example');
    assert.equal(web.user, 'fromextra');
    assert.equal(web.port, 2020, 'lines after an Include still belong to the enclosing Host block');
    const db = resolveHostConfig('db', { ...opts(home), configPath });
    assert.equal(db.port, 5522);
    assert.equal(db.user, undefined);
  });
});

test('a missing config file means no aliases', () => {
  withHome((home) => {
    const cfg = resolveHostConfig('anything', { ...opts(home), configPath: join(home, 'nope', 'config') });
    assert.deepEqual(cfg, { identityFiles: [] });
  });
});

test('a bad Port or unparsable file is a clear error naming the file', () => {
  withHome((home) => {
    const configPath = join(home, '.ssh', 'config');
    writeFileSync(configPath, 'Host x\n  Port banana\n');
    assert.throws(
      () => resolveHostConfig('x', { ...opts(home), configPath }),
      new RegExp(`${configPath}.*Port "banana"`),
    );
    writeFileSync(configPath, 'Host x\n  IdentityFile "unterminated\n');
    assert.throws(
      () => resolveHostConfig('x', { ...opts(home), configPath }),
      new RegExp(`Could not parse ssh config ${configPath}`),
    );
  });
});

test('expandTokens replaces known tokens and keeps unknown ones', () => {
  assert.equal(expandTokens('%d/%u/%h/%r/%%/%C', { d: '/h', u: 'me', h: 'host', r: 'them' }), '/h/me/host/them/%/%C');
});
