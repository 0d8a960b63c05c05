/**
 * The canaries of test/harness/shell-canary.ts can fire: each name, pasted into a shell
 * command line the ways a careless program would (bare, in single quotes, in double quotes),
 * creates its absolute canary in at least one of them, whatever the shell's working
 * directory. So a test that finds no canary after syncing these names proves something.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANARY_DIR, shellCanaries } from '../harness/shell-canary.ts';

test('every canary name runs its touch when a shell evaluates it, from any directory', () => {
  const c = shellCanaries('selftest');
  const cwd = mkdtempSync(join(tmpdir(), 'ferry-canary-cwd-'));
  try {
    for (const [n, name] of c.names.entries()) {
      assert.ok(!name.includes('/'), `${name} is one file name`);
      const fired = ['echo NAME', "echo 'NAME'", 'echo "NAME"'].filter((line) => {
        spawnSync('sh', ['-c', line.replace('NAME', name)], { cwd, stdio: 'ignore' });
        const hit = c.found().includes(`${c.prefix}-${n}`);
        rmSync(join(CANARY_DIR, `${c.prefix}-${n}`), { force: true });
        return hit;
      });
      assert.ok(fired.length > 0, `${JSON.stringify(name)} never created ${CANARY_DIR}/${c.prefix}-${n}`);
    }
    assert.deepEqual(c.found(), []);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
