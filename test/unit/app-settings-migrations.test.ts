import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CURRENT_SETTINGS_VERSION, defaultSettings, migrateSettings } from '../../main/app-core/settings-migrations.ts';
import { JsonFileSettingsStore } from '../../main/app-core/settings-store.ts';

test('no settings yet means defaults', () => {
  assert.deepEqual(migrateSettings(undefined), { settings: defaultSettings(), migratedFrom: 0 });
  assert.deepEqual(migrateSettings({}).settings, defaultSettings());
  assert.equal(defaultSettings().version, CURRENT_SETTINGS_VERSION);
});

test('version 1 (target as one string) becomes version 2 with host, user, port and path split', () => {
  const v1 = {
    version: 1,
    locale: 'zh-CN',
    folders: [
      {
        id: 'a1',
        local: '/home/u/docs',
        target: 'deploy@example.org:/srv/docs/',
        mode: 'mirror',
        ignore: ['*.log'],
        paused: true,
      },
      { id: 'b2', local: '/home/u/pics', target: 'ssh://example.net:2222/data/pics' },
    ],
  };
  const { settings, migratedFrom } = migrateSettings(v1);
  assert.equal(migratedFrom, 1);
  assert.deepEqual(settings, {
    version: 2,
    language: 'zh-CN',
    openAtLogin: false,
    folders: [
      {
        id: 'a1',
        localPath: '/home/u/docs',
        host: 'example.org',
        user: 'deploy',
        authKind: 'agent',
        remotePath: '/srv/docs',
        mode: 'mirror',
        ignore: ['*.log'],
        paused: true,
      },
      {
        id: 'b2',
        localPath: '/home/u/pics',
        host: 'example.net',
        port: 2222,
        authKind: 'agent',
        remotePath: '/data/pics',
        mode: 'push',
        ignore: [],
        paused: false,
      },
    ],
  });
});

test('current settings pass through unchanged, without migratedFrom', () => {
  const current = { ...defaultSettings(), language: 'en' as const };
  assert.deepEqual(migrateSettings(current), { settings: current });
});

test('settings from a newer Ferry, without a version, or broken are refused with what to do', () => {
  assert.throws(
    () => migrateSettings({ version: 9, folders: [] }, 'settings.json'),
    /settings\.json was written by a newer Ferry \(settings version 9; this Ferry knows up to 2\)\. Update Ferry/,
  );
  assert.throws(() => migrateSettings({ folders: [] }), /no valid "version" field.*Move it aside/);
  assert.throws(() => migrateSettings([1, 2]), /does not hold a settings object/);
  assert.throws(
    () => migrateSettings({ version: 1, folders: [{ id: 'x', local: '/a', target: 'not a target' }] }),
    /settings version 1\) could not be upgraded: Remote target "not a target" is not valid/,
  );
  assert.throws(() => migrateSettings({ ...defaultSettings(), language: 'klingon' }), /is not valid: language/);
});

test('the JSON file store round-trips settings and reports unreadable JSON clearly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-settings-'));
  try {
    const store = new JsonFileSettingsStore(join(dir, 'sub', 'settings.json'));
    assert.equal(await store.load(), undefined);
    const s = { ...defaultSettings(), openAtLogin: true };
    await store.save(s);
    assert.deepEqual(await store.load(), s);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'sub', 'settings.json'), 'utf8')), s);
    writeFileSync(join(dir, 'sub', 'settings.json'), '{ half');
    await assert.rejects(store.load(), /settings\.json is not valid JSON .*Move it aside/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
