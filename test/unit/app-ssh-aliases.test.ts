import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aliasesInConfig, listSshAliases } from '../../main/app-core/ssh-aliases.ts';

test('aliases are the plain names on Host lines, patterns left out, includes followed', () => {
  const home = mkdtempSync(join(tmpdir(), 'ferry-aliases-'));
  try {
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'conf.d', 'work.conf'), 'Host build-box\n  HostName 10.0.0.5\n');
    const config = [
      'Host web db  # two',
      '  User deploy',
      'Host *.internal !bastion',
      'Host=nas',
      'Include conf.d/*.conf',
      'Host *',
      '  ServerAliveInterval 30',
    ].join('\n');
    assert.deepEqual(aliasesInConfig(config, home), ['web', 'db', 'nas', 'build-box']);
    writeFileSync(join(home, '.ssh', 'config'), config);
    assert.deepEqual(listSshAliases(undefined, home), ['web', 'db', 'nas', 'build-box']);
    assert.deepEqual(listSshAliases(join(home, 'missing'), home), []);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
