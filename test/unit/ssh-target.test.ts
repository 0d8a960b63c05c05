import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRemotePath, parseJumpHost, parseTarget, type ParsedTarget } from '../../main/ssh/target.ts';

const valid: [string, ParsedTarget][] = [
  ['host:/srv/data', { host: 'host', path: '/srv/data' }],
  ['alice@host.example.com:/srv/data', { user: 'alice', host: 'host.example.com', path: '/srv/data' }],
  ['myalias:/', { host: 'myalias', path: '/' }],
  ['host:/srv//data///', { host: 'host', path: '/srv/data' }],
  ['host:/srv/./data/.', { host: 'host', path: '/srv/data' }],
  ['host:/with space/and:colon', { host: 'host', path: '/with space/and:colon' }],
  ['me@corp@host:/x', { user: 'me@corp', host: 'host', path: '/x' }],
  ['[::1]:/srv', { host: '::1', path: '/srv' }],
  ['bob@[fe80::1%eth0]:/srv', { user: 'bob', host: 'fe80::1%eth0', path: '/srv' }],
  ['ssh://host/srv/data', { host: 'host', path: '/srv/data' }],
  ['ssh://alice@host:2222/srv/data/', { user: 'alice', host: 'host', port: 2222, path: '/srv/data' }],
  ['ssh://[::1]:2222/srv', { host: '::1', port: 2222, path: '/srv' }],
  ['ssh://[::1]/srv', { host: '::1', path: '/srv' }],
  ['SSH://host:22//', { host: 'host', port: 22, path: '/' }],
  ['127.0.0.1:/tmp/x', { host: '127.0.0.1', path: '/tmp/x' }],
];

for (const [spec, expected] of valid) {
  test(`parseTarget accepts ${JSON.stringify(spec)}`, () => {
    assert.deepEqual(parseTarget(spec), expected);
  });
}

const invalid: [string, RegExp][] = [
  ['', /empty/],
  ['localdir', /no ":"/],
  ['./some/dir', /local path/],
  ['/abs/local', /local path/],
  ['dir/sub:/x', /local path/],
  ['host:relative/path', /not absolute/],
  ['host:~/dir', /not absolute/],
  ['host:', /empty/],
  ['host:2222/srv', /ssh:\/\/host:PORT\/path/],
  ['host:/a/../b', /"\.\."/],
  ['ssh://host:2222/a/..', /"\.\."/],
  ['host:/a\0b', /NUL/],
  ['-oProxyCommand=x:/srv', /starts with "-"/],
  ['-l@host:/srv', /starts with "-"/],
  ['@host:/srv', /user name .* empty/],
  ['ho st:/srv', /not allowed/],
  ['ssh://host', /no path/],
  ['ssh://host:0/srv', /port "0"/],
  ['ssh://host:99999/srv', /port "99999"/],
  ['ssh://host:abc/srv', /port "abc"/],
  ['ssh://::1/srv', /brackets/],
  ['[::1/srv', /not closed/],
  ['[::1]/srv', /followed by ":\/path"/],
  ['[not-v6]:/srv', /not an IPv6 address/],
  ['http://host/srv', /only the ssh:\/\/ scheme/],
  ['host:///srv', /looks like a URL/],
];

for (const [spec, why] of invalid) {
  test(`parseTarget refuses ${JSON.stringify(spec)}`, () => {
    assert.throws(
      () => parseTarget(spec),
      (err: Error) => {
        assert.match(err.message, why);
        assert.match(err.message, /expected \[user@\]host:\/absolute\/path or ssh:\/\//);
        return true;
      },
    );
  });
}

test('normalizeRemotePath keeps root and refuses relative paths', () => {
  assert.equal(normalizeRemotePath('/'), '/');
  assert.equal(normalizeRemotePath('////'), '/');
  assert.equal(normalizeRemotePath('/a//b/'), '/a/b');
  assert.throws(() => normalizeRemotePath('a/b'), /not absolute/);
  assert.throws(() => normalizeRemotePath('/a/..'), /\.\./);
});

test('parseJumpHost parses user, host, port and IPv6', () => {
  assert.deepEqual(parseJumpHost('bastion'), { host: 'bastion' });
  assert.deepEqual(parseJumpHost('ops@bastion:2200'), { user: 'ops', host: 'bastion', port: 2200 });
  assert.deepEqual(parseJumpHost('[::1]:22'), { host: '::1', port: 22 });
  assert.deepEqual(parseJumpHost('ssh://ops@bastion:2200'), { user: 'ops', host: 'bastion', port: 2200 });
  assert.throws(() => parseJumpHost('bastion:x'), /Jump host "bastion:x" is not valid: port "x"/);
  assert.throws(() => parseJumpHost('ssh://bastion/path'), /no path/);
  assert.throws(() => parseJumpHost('-J'), /starts with "-"/);
});
