/**
 * A watching `ferry sync` picks up an edited `.ferryignore` (against the real sshd): the
 * change asks for a full pass, which reloads the rules. A path the edit un-ignores is
 * uploaded. A path it newly ignores is left alone on both sides: its server copy stays as
 * it was, its entry in the index (the ancestor) is forgotten (pass.ts), and later local
 * edits to it are not sent.
 *
 * No waiting for something not to happen: after the ignored file is edited, `.ferryignore`
 * is touched again, which forces another full pass over the whole folder; once that pass
 * has ended, an upload of the ignored file would have been part of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderStateFiles } from '../../main/engine/folder-config.ts';
import { folderStateDir } from '../../main/engine/folder-state-dir.ts';
import { loadIndex } from '../../main/engine/index-store.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { eventually, sshFlags, targetOf, writeTree, type FerryProcess } from '../harness/trees.ts';

const fx = sshdForFile();

/** Resolves with the first event after index `from` that matches `pred`. */
async function after(
  ferry: FerryProcess,
  from: number,
  pred: (e: Record<string, unknown>) => boolean,
  what: string,
): Promise<number> {
  const e = await ferry.waitFor((x) => ferry.events.indexOf(x) >= from && pred(x), 30_000, what);
  return ferry.events.indexOf(e);
}

const inSync = (e: Record<string, unknown>) => e.event === 'state' && e.state === 'idle' && e.inSync === true;

test('an edited .ferryignore: a newly ignored file keeps its server copy and leaves the index; an un-ignored one is uploaded', async () => {
  const local = fx.scope.dir('ign-local');
  const state = fx.scope.dir('ign-state');
  const remote = join(fx.sshd.remoteRoot, 'ign');
  writeTree(local, {
    '.ferryignore': '*.log\n',
    'keep.txt': 'keep',
    'notes/draft.md': 'draft v1',
    'run.log': 'a log, ignored at first',
  });
  const ferry = fx.scope.watch([...sshFlags(fx.sshd, state), local, targetOf(fx.sshd, remote)]);
  const remoteText = (rel: string) => readFileSync(join(remote, rel), 'utf8');

  let at = await after(ferry, 0, inSync, 'the first in-sync state');
  const firstSync = at;
  assert.equal(remoteText('notes/draft.md'), 'draft v1');
  assert.equal(existsSync(join(remote, 'run.log')), false, 'run.log is ignored at first');

  // Un-ignore *.log, ignore notes/.
  const rules = 'notes/\n';
  writeFileSync(join(local, '.ferryignore'), rules);
  at = await after(ferry, at, (e) => e.event === 'file' && e.path === 'run.log' && e.ok === true, 'run.log uploaded');
  assert.equal(remoteText('run.log'), 'a log, ignored at first');
  await eventually(() => existsSync(join(remote, '.ferryignore')) && remoteText('.ferryignore') === rules);
  at = await after(ferry, at, inSync, 'in sync after the reload');

  // Edit the newly ignored file, then force a full pass and wait for it to end.
  writeFileSync(join(local, 'notes/draft.md'), 'draft v2, never sent');
  writeFileSync(join(local, 'notes/new.md'), 'new below an ignored directory');
  const touched = `${rules}# touched\n`;
  writeFileSync(join(local, '.ferryignore'), touched);
  at = await after(
    ferry,
    at,
    (e) => e.event === 'file' && e.path === '.ferryignore' && e.ok === true,
    'the touched .ferryignore uploaded',
  );
  assert.equal(remoteText('.ferryignore'), touched);
  await after(ferry, at, (e) => e.event === 'pass' && e.full === true, 'the end of that full pass');

  assert.equal(remoteText('notes/draft.md'), 'draft v1', 'the server copy of the newly ignored file is left as it was');
  assert.equal(existsSync(join(remote, 'notes/new.md')), false, 'nothing new below an ignored directory is sent');
  const sentAfterReload = ferry.events
    .slice(firstSync)
    .filter((e) => e.event === 'file' && typeof e.path === 'string' && e.path.startsWith('notes'));
  assert.deepEqual(sentAfterReload, [], 'no operation touched notes/ after the initial sync');
  await fx.scope.stop(ferry);

  // What the index keeps: everything synced, minus the newly ignored paths.
  const id = ferry.events.find((e) => e.event === 'state')?.folder;
  assert.equal(typeof id, 'string');
  const index = await loadIndex(folderStateFiles(folderStateDir(state, String(id))).index);
  assert.ok(index, 'the index was saved');
  assert.deepEqual(
    [...index.keys()].sort(),
    ['', '.ferryignore', 'keep.txt', 'run.log'],
    'notes/ and notes/draft.md were forgotten',
  );
});
