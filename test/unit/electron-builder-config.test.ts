/**
 * Packaging cannot run here (electron-builder downloads Electron and its tools), so the
 * config is checked the way electron-builder itself checks it: loaded with its own loader and
 * validated against the schema (scheme.json) that app-builder-lib ships.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null, fromOptions: unknown): Promise<Record<string, unknown>>;
  validateConfiguration(config: unknown, logger: unknown): Promise<void>;
};
const { DebugLogger } = require('builder-util/out/DebugLogger.js') as {
  DebugLogger: new (enabled: boolean) => unknown;
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function load(): Promise<Record<string, any>> {
  return (await getConfig(root, join(root, 'electron-builder.yml'), null)) as Record<string, any>;
}

test("electron-builder.yml passes electron-builder's own schema validation", async () => {
  await validateConfiguration(await load(), new DebugLogger(false));
});

test('the validation really rejects a wrong key (the check can fail)', async () => {
  const config = await load();
  config.linux = { ...config.linux, targett: ['AppImage'] };
  await assert.rejects(
    () => validateConfiguration(config, new DebugLogger(false)),
    /does not match the API schema[\s\S]*configuration\.linux/,
  );
});

test('packaging settings the issue requires are set', async () => {
  const c = await load();
  assert.equal(c.npmRebuild, false, 'ssh2 native parts are optional: no rebuild against Electron');
  assert.equal(c.electronFuses?.runAsNode, false);
  assert.equal(c.electronFuses?.enableNodeCliInspectArguments, false);
  assert.equal(c.electronFuses?.onlyLoadAppFromAsar, true);
  assert.equal(c.mac?.extendInfo?.LSUIElement, true, 'no dock icon on macOS');
  const targets = (x: any) =>
    (Array.isArray(x?.target) ? x.target : [x?.target]).map((t: any) => (typeof t === 'string' ? t : t?.target));
  assert.deepEqual(targets(c.linux).sort(), ['AppImage', 'deb']);
  assert.ok(targets(c.mac).includes('dmg'));
  assert.ok(targets(c.win).includes('nsis'));
});
