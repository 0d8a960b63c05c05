/**
 * Packaging cannot run here (electron-builder downloads Electron and its tools), so the
 * config is checked the way electron-builder itself checks it: loaded with its own loader and
 * validated against the schema (scheme.json) that app-builder-lib ships. The deb's Depends
 * and Recommends are computed with electron-builder's own defaults and checked against this
 * machine's apt: each relation must have an alternative apt can install.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
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

/** electron-builder's deb/rpm target; its default relations are methods that use no state. */
const { default: FpmTarget } = require('app-builder-lib/out/targets/FpmTarget.js') as {
  default: {
    prototype: { getDefaultDepends(target: string): string[]; getDefaultRecommends(target: string): string[] };
  };
};
const { deepAssign } = require('builder-util-runtime') as { deepAssign<T>(target: T, ...objects: unknown[]): T };

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

/**
 * The Depends and Recommends electron-builder writes into the deb, as FpmTarget computes them:
 * its options are the `linux` section overlaid with `deb`; `depends` and `recommends` replace
 * the defaults when set (getDefaultDepends / getDefaultRecommends, called from its own code).
 */
function debRelations(config: Record<string, any>): { depends: string[]; recommends: string[] } {
  const options = deepAssign({}, config.linux, config.deb) as {
    depends?: string | string[];
    recommends?: string | string[];
  };
  const defaults = FpmTarget.prototype;
  const asArray = (x: string | string[]) => (Array.isArray(x) ? x : [x]);
  return {
    depends: options.depends != null ? asArray(options.depends) : defaults.getDefaultDepends('deb'),
    recommends: options.recommends ? asArray(options.recommends) : defaults.getDefaultRecommends('deb'),
  };
}

test("the deb keeps electron-builder's default Depends and recommends the Ayatana tray library", async () => {
  const { depends, recommends } = debRelations(await load());
  assert.deepEqual(depends, FpmTarget.prototype.getDefaultDepends('deb'));
  for (const lib of ['libgtk-3-0', 'libnss3', 'libnotify4']) assert.ok(depends.includes(lib), `Depends has ${lib}`);
  assert.deepEqual(recommends, ['libayatana-appindicator3-1 | libappindicator3-1']);
});

/** Candidate versions apt knows for `names` (absent: no candidate), from `apt-cache policy`. */
function aptCandidates(names: string[]): Map<string, string> {
  const out = execFileSync('apt-cache', ['policy', ...names], { encoding: 'utf8' });
  const found = new Map<string, string>();
  for (const block of out.split(/^(?=\S)/m)) {
    const name = /^(\S+):$/m.exec(block)?.[1];
    const candidate = /^\s+Candidate: (.+)$/m.exec(block)?.[1];
    if (name && candidate && candidate !== '(none)') found.set(name, candidate);
  }
  return found;
}

/** Real packages that Provide the virtual package `name` (apt installs those for it). */
function providers(name: string): string[] {
  const out = execFileSync('apt-cache', ['showpkg', name], { encoding: 'utf8' });
  const section = out.split(/^Reverse Provides:.*$/m)[1] ?? '';
  return section
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

test("every deb dependency has a candidate in this machine's apt", async (t) => {
  if (spawnSync('apt-cache', ['--version']).error)
    return t.skip('apt-cache is not installed: not a Debian-like system');
  if (aptCandidates(['libc6']).size === 0)
    return t.skip('apt knows no packages (empty lists): run apt-get update, then this test');
  const { depends, recommends } = debRelations(await load());
  const relations = [...depends, ...recommends].map((relation) => ({
    relation,
    // "a (>= 1) | b" -> ['a', 'b']: the version constraint does not change which package it is.
    alternatives: relation.split('|').map((alt) => alt.trim().replace(/\s*\(.*\)$/, '')),
  }));
  const candidates = aptCandidates(relations.flatMap((r) => r.alternatives));
  const report = relations.map(({ relation, alternatives }) => ({
    relation,
    alternatives: alternatives.map((name) => {
      const version = candidates.get(name);
      if (version) return `${name} ${version}`;
      const provided = providers(name).filter((p) => aptCandidates([p]).size > 0);
      return provided.length > 0 ? `${name} provided by ${provided.join(', ')}` : `${name}: no candidate`;
    }),
  }));
  const missing = report.filter((r) => r.alternatives.every((a) => a.endsWith(': no candidate')));
  t.diagnostic(JSON.stringify(report));
  assert.deepEqual(missing, [], 'relations no alternative of which apt can install');
});
