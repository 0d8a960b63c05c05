/**
 * The Electron bundles can't be run here, but what they load can be checked: a sandboxed
 * preload may require nothing but 'electron', and the packaged main process can only load
 * Node's builtins, electron and the package's production dependencies (electron-builder
 * packs no devDependencies), so a stray import would crash the installed app at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMain, buildPreload } from '../../main/build/build.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** The package name of a module specifier: 'a/b' -> 'a', '@s/a/b' -> '@s/a', 'node:fs' -> 'node:fs'. */
const packageOf = (spec: string) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);

test('the preload bundle requires only electron (sandboxed preloads can require nothing else)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ferry-build-'));
  try {
    await buildPreload(out);
    const code = readFileSync(join(out, 'preload.cjs'), 'utf8');
    const required = [...code.matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map((m) => m[2]);
    assert.deepEqual([...new Set(required)], ['electron']);
    assert.doesNotMatch(code, /\bimport\s*\(/, 'no dynamic import');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the main bundle loads only builtins, electron and production dependencies', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ferry-build-'));
  try {
    await buildMain(out);
    const code = readFileSync(join(out, 'main.js'), 'utf8');
    const specs = [
      ...code.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?(["'])([^"']+)\1/gm),
      ...code.matchAll(/\bimport\((["'])([^"']+)\1\)/g),
      ...code.matchAll(/\brequire\((["'])([^"']+)\1\)/g),
    ].map((m) => m[2] as string);
    assert.ok(specs.includes('electron'), 'the shell imports electron');
    const allowed = new Set([
      ...builtinModules,
      ...builtinModules.map((b) => `node:${b}`),
      'electron',
      ...Object.keys(pkg.dependencies),
    ]);
    const stray = [...new Set(specs.map(packageOf))].filter((p) => !allowed.has(p));
    assert.deepEqual(stray, [], `main imports packages that are not production dependencies: ${stray.join(', ')}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
