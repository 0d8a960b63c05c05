import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveEndpoint, type ResolveEndpointOptions } from '../../main/ssh/resolve-endpoint.ts';

function withHome(config: string | undefined, fn: (home: string, base: ResolveEndpointOptions) => void): void {
  const home = mkdtempSync(join(tmpdir(), 'ferry-resolve-'));
  try {
    mkdirSync(join(home, '.ssh'));
    if (config !== undefined) writeFileSync(join(home, '.ssh', 'config'), config);
    fn(home, { homeDir: home, localUser: 'localme' });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

test('defaults: port 22, OS user, ~/.ssh/known_hosts, strict, existing default keys only', () => {
  withHome(undefined, (home, base) => {
    writeFileSync(join(home, '.ssh', 'id_rsa'), 'x');
    writeFileSync(join(home, '.ssh', 'id_ed25519'), 'x');
    const ep = resolveEndpoint('server.example:/srv/data/', base);
    assert.deepEqual(ep, {
      host: 'server.example',
      port: 22,
      user: 'localme',
      displayName: 'server.example',
      remoteRoot: '/srv/data',
      identityFiles: [join(home, '.ssh', 'id_ed25519'), join(home, '.ssh', 'id_rsa')],
      knownHostsPath: join(home, '.ssh', 'known_hosts'),
      hostKeyPolicy: 'strict',
    });
  });
});

const CONFIG = [
  'Host web',
  '  HostName web.internal',
  '  User deploy',
  '  Port 2222',
  '  IdentityFile ~/.ssh/id_web',
  '  UserKnownHostsFile ~/.ssh/kh_web',
  '  ProxyJump jumper,ops@inner:2201',
  'Host jumper',
  '  HostName jump.example',
  '  User jumpuser',
  '  ProxyJump outer',
  '  IdentityFile ~/.ssh/id_jump',
  'Host outer',
  '  HostName outer.example',
  '  Port 443',
  'Host inner',
  '  ProxyJump ignored-because-not-first',
  'Host pc',
  '  ProxyCommand nc %h %p',
].join('\n');

test('an alias takes HostName/User/Port/IdentityFile/UserKnownHostsFile from the config and flattens ProxyJump', () => {
  withHome(CONFIG, (home, base) => {
    writeFileSync(join(home, '.ssh', 'id_ed25519'), 'x');
    const ep = resolveEndpoint('web:/var/www', { ...base, agentSocket: null, passphrase: 'pp', password: 'secret' });
    assert.equal(ep.host, 'web.internal');
    assert.equal(ep.user, 'deploy');
    assert.equal(ep.port, 2222);
    assert.equal(ep.displayName, 'web');
    assert.equal(ep.remoteRoot, '/var/www');
    assert.deepEqual(ep.identityFiles, [join(home, '.ssh', 'id_web')], 'config IdentityFile replaces the defaults');
    assert.equal(ep.knownHostsPath, join(home, '.ssh', 'kh_web'));
    assert.equal(ep.password, 'secret');
    assert.equal(ep.agentSocket, null);
    const jump = ep.jump ?? [];
    assert.deepEqual(
      jump.map((j) => [j.displayName, j.user, j.host, j.port]),
      [
        ['outer', 'localme', 'outer.example', 443],
        ['jumper', 'jumpuser', 'jump.example', 22],
        ['ops@inner:2201', 'ops', 'inner', 2201],
      ],
    );
    for (const hop of jump) {
      assert.equal(hop.password, undefined, 'a password is never sent to a jump host');
      assert.equal(hop.passphrase, 'pp');
      assert.equal(hop.agentSocket, null);
      assert.equal(hop.hostKeyPolicy, 'strict');
      assert.equal(hop.jump, undefined);
    }
    assert.deepEqual(jump[1]?.identityFiles, [join(home, '.ssh', 'id_jump')]);
    assert.deepEqual(jump[0]?.identityFiles, [join(home, '.ssh', 'id_ed25519')]);
    assert.equal(jump[0]?.knownHostsPath, join(home, '.ssh', 'known_hosts'));
  });
});

test('target spec beats options, options beat the config; -i comes first; overrides reach the hops', () => {
  withHome(CONFIG, (home, base) => {
    const options: ResolveEndpointOptions = {
      ...base,
      identityFiles: ['~/.ssh/explicit'],
      knownHostsPath: '~/kh_cli',
      hostKeyPolicy: 'accept-new',
      port: 3333,
      user: 'cliuser',
    };
    const ep = resolveEndpoint('web:/x', options);
    assert.equal(ep.user, 'cliuser');
    assert.equal(ep.port, 3333);
    assert.deepEqual(ep.identityFiles, [join(home, '.ssh', 'explicit'), join(home, '.ssh', 'id_web')]);
    assert.equal(ep.knownHostsPath, join(home, 'kh_cli'));
    assert.equal(ep.hostKeyPolicy, 'accept-new');
    for (const hop of ep.jump ?? []) {
      assert.equal(hop.knownHostsPath, join(home, 'kh_cli'));
      assert.equal(hop.hostKeyPolicy, 'accept-new');
    }
    const uri = resolveEndpoint('ssh://root@web:4444/x', options);
    assert.equal(uri.user, 'root');
    assert.equal(uri.port, 4444);
    assert.equal(resolveEndpoint('web:/x', { ...options, proxyJump: 'none' }).jump, undefined);
  });
});

test('IPv6 targets, a ProxyCommand host, bad ports and a jump loop give clear errors', () => {
  withHome('Host loop1\n  ProxyJump loop2\nHost loop2\n  ProxyJump loop1\n' + CONFIG, (_home, base) => {
    const v6 = resolveEndpoint('ssh://[::1]:2222/srv', base);
    assert.equal(v6.host, '::1');
    assert.equal(v6.port, 2222);
    assert.throws(() => resolveEndpoint('pc:/x', base), /ProxyCommand for pc; Ferry does not run proxy commands/);
    assert.throws(() => resolveEndpoint('web:/x', { ...base, port: 70000 }), /Port 70000/);
    assert.throws(() => resolveEndpoint('x:/y', { ...base, proxyJump: 'loop1' }), /ProxyJump chain is longer than/);
    assert.throws(() => resolveEndpoint('nocolon', base), /expected \[user@\]host/);
  });
});

test('sshConfigPath null ignores the config', () => {
  withHome(CONFIG, (_home, base) => {
    const ep = resolveEndpoint('web:/x', { ...base, sshConfigPath: null });
    assert.equal(ep.host, 'web');
    assert.equal(ep.port, 22);
    assert.equal(ep.jump, undefined);
  });
});
