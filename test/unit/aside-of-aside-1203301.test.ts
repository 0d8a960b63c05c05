/**
 * Soak seed 1203301 (30 minutes, on 4e6e074, the small-disk folder): "idle and in sync while the
 * server differed; 14 differences". Every one of them is an aside of an aside
 * (asideNameFor(asideNameFor(name)), left when a pass discarded a leftover aside that was
 * Ferry's last version and the connection died between the discard's move aside and its
 * unlink) or a directory kept on the server only because it holds one:
 * - `.ferry-aside-6087afd2f06c53ff` at the root, of `Notes 684.md` (a file, 14666 B, removed
 *   locally later);
 * - three inside `Folder 79`, a directory the driver renamed locally to `Folder 1100` after
 *   the asides were left: of `x | touch ...-765` in `.../Folder 872/dir157/sub_722`, of
 *   `sub_539` in `.../é646/+284`, of `$HOME754` in `.../é646/+284/dir182`. The rest of
 *   `Folder 79` holds the server user's files and logged conflict copies, which the verifier
 *   accepts; only the directories leading to the asides were differences.
 * Each leftover holds a version Ferry itself had uploaded (sizes 14666, 10544, 0, 232541).
 * 338528f (after 4e6e074) traces aside chains; these tests put the seed's shapes through the
 * folder loop: a root-level file deleted locally afterwards, and a nested file whose top
 * directory is renamed locally afterwards. Both leave the aside on 4e6e074.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASIDE_PREFIX, asideNameFor } from '../../main/core/temp-name.ts';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { MemoryServer } from '../harness/memory-transport.ts';
import { memoryFolder } from '../harness/memory-folder.ts';

const twiceAside = (name: string) => asideNameFor(asideNameFor(name));
const canary765 = "x | touch $(printf '\\057tmp\\057ferry-soak-pwned-8b77ac92345d-765')";

test('the four leftovers of seed 1203301 are asides of asides', () => {
  assert.equal(twiceAside('Notes 684.md'), '.ferry-aside-6087afd2f06c53ff');
  assert.equal(twiceAside(canary765), '.ferry-aside-8d9f47cded04193e');
  assert.equal(twiceAside('sub_539'), '.ferry-aside-21f7a01667a49c64');
  assert.equal(twiceAside('$HOME754'), '.ferry-aside-367fe21032135df4');
});

const asidesOn = (server: MemoryServer) =>
  [...server.entries.keys()].filter((p) => p.split('/').some((s) => s.startsWith(ASIDE_PREFIX)));

/**
 * The state an interrupted discard leaves at `path`: the local file and the server hold version
 * two (an upload whose answer was lost: the ancestor still describes version one), and version
 * one lies in the aside of its aside next to it.
 */
function leaveAsideOfAside(server: MemoryServer, localRoot: string, path: string): string {
  const old = server.entries.get(path);
  assert.equal(old?.kind, 'file');
  const local = join(localRoot, path);
  writeFileSync(local, 'version two, longer');
  utimesSync(local, new Date(1_796_309_100_000), new Date(1_796_309_100_000));
  const st = statSync(local);
  server.writeFile(path, 'version two, longer', st.mode & 0o7777, Math.floor(st.mtimeMs / 1000) * 1000);
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
  const leftover = `${dir}${twiceAside(path.slice(dir.length))}`;
  server.writeFile(leftover, 'version one', old.mode, old.mtimeMs);
  return leftover;
}

test('a root-level aside of an aside is settled when its original is deleted locally (Notes 684.md)', async (t) => {
  const server = new MemoryServer();
  const { config, localRoot } = memoryFolder(t, { 'Notes 684.md': 'version one', 'other.txt': 'x' });
  assert.equal((await new FolderSync(config, { openTransports: server.open }).runOnce()).inSync, true);
  const leftover = leaveAsideOfAside(server, localRoot, 'Notes 684.md');
  assert.equal(leftover, '.ferry-aside-6087afd2f06c53ff');
  rmSync(join(localRoot, 'Notes 684.md'));

  const second = await new FolderSync(config, { openTransports: server.open }).runOnce();
  const third = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.deepEqual(asidesOn(server), [], 'no aside is left on the server');
  assert.ok(second.inSync || third.inSync, 'the folder reaches in sync');
});

test('an aside of an aside below a directory renamed locally is settled (Folder 79 -> Folder 1100)', async (t) => {
  const server = new MemoryServer();
  const original = `Folder 79/232... -> arrow /sub_594/Folder 872/dir157/sub_722/${canary765}`;
  const { config, localRoot } = memoryFolder(t, {
    [original]: 'version one',
    'Folder 79/232... -> arrow /sub_594/Folder 872/dir157/sub_722/README-851': 'readme',
    'Folder 79/x/é646/+284/dir182/f.txt': 'f',
  });
  assert.equal((await new FolderSync(config, { openTransports: server.open }).runOnce()).inSync, true);
  leaveAsideOfAside(server, localRoot, original);
  renameSync(join(localRoot, 'Folder 79'), join(localRoot, 'Folder 1100'));

  const second = await new FolderSync(config, { openTransports: server.open }).runOnce();
  const third = await new FolderSync(config, { openTransports: server.open }).runOnce();
  assert.deepEqual(asidesOn(server), [], 'no aside is left on the server');
  assert.ok(second.inSync || third.inSync, 'the folder reaches in sync');
  // Besides the directories above it, only version two is left in Folder 79: this test has no
  // journal record for the upload whose answer was lost, so the ancestor still describes
  // version one and push mode keeps version two as the server's (in the soak the journal's
  // `replace` record takes it as Ferry's). Nothing else of Folder 79 may stay.
  const files = [...server.entries.keys()].filter(
    (p) => p.startsWith('Folder 79/') && server.entries.get(p)?.kind !== 'dir',
  );
  assert.deepEqual(files, [original]);
});
