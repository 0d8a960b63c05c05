import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseDaemonConfig } from '../../main/cli/daemon-config.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { diffTrees, readTree, runFerry, targetOf, tempDir, writeTree } from '../harness/trees.ts';

test('daemon config errors name the key and the problem', () => {
  assert.throws(
    () =>
      parseDaemonConfig(
        {
          folders: [
            { local: '/a', target: 'h:/x' },
            { local: '/b', mode: 'sideways' },
          ],
        },
        'ferry.json',
      ),
    (err: Error) =>
      /ferry\.json is not a valid Ferry config/.test(err.message) &&
      /folders\[1\]\.target/.test(err.message) &&
      /folders\[1\]\.mode/.test(err.message),
  );
  assert.throws(() => parseDaemonConfig({ folders: [] }, 'f.json'), /folders: must list at least one folder/);
  assert.throws(
    () => parseDaemonConfig({ folders: [{ local: '/a', target: 'h:/x', colour: 'red' }] }, 'f.json'),
    /folders\[0\].*colour/,
  );
  assert.equal(
    parseDaemonConfig({ folders: [{ local: '/a', target: 'h:/x', ignore: ['*.log'] }] }, 'f.json').folders.length,
    1,
  );
});

let sshd: TestSshd;
before(async () => {
  sshd = await startSshd();
});
after(async () => {
  await sshd?.dispose();
});

test('ferry daemon --once syncs every folder of the config file', async () => {
  const a = tempDir('daemon-a');
  const b = tempDir('daemon-b');
  const state = tempDir('daemon-state');
  writeTree(a, { 'one.txt': '1', 'sub/two.txt': '2', 'skip.log': 'ignored' });
  writeTree(b, { 'three.txt': '3' });
  const config = join(state, 'ferry.json');
  const common = { identity: sshd.clientKeyPath, knownHosts: sshd.knownHostsPath };
  writeFileSync(
    config,
    JSON.stringify({
      stateDir: state,
      sshConfig: '/dev/null',
      folders: [
        { local: a, target: targetOf(sshd, join(sshd.remoteRoot, 'daemon-a')), ignore: ['*.log'], ...common },
        { local: b, target: targetOf(sshd, join(sshd.remoteRoot, 'daemon-b')), mode: 'mirror', ...common },
      ],
    }),
  );
  const r = await runFerry(['daemon', '--once', '--json', '--config', config]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(
    diffTrees(readTree(a, { skip: (n) => n === 'skip.log' }), readTree(join(sshd.remoteRoot, 'daemon-a'))),
    [],
  );
  assert.deepEqual(diffTrees(readTree(b), readTree(join(sshd.remoteRoot, 'daemon-b'))), []);
  assert.equal(new Set(r.events.filter((e) => e.inSync === true).map((e) => e.folder)).size, 2);

  writeFileSync(config, JSON.stringify({ folders: [{ local: a }] }));
  const bad = await runFerry(['daemon', '--once', '--json', '--config', config]);
  assert.equal(bad.code, 2);
  assert.match(String(bad.events.find((e) => e.event === 'error')?.message), /folders\[0\]\.target/);
  for (const d of [a, b, state]) rmSync(d, { recursive: true, force: true });
});
