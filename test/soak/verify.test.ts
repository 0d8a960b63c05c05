/**
 * The soak's verifier with server edits (verify.ts): each legitimate outcome of a server edit
 * in push mode is accepted, and a lost or unrecorded one is a difference. Plus the server
 * driver (server-edits.ts) against a plain directory: its ledger accounts for every change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../harness/trees.ts';
import { Rng } from './rng.ts';
import { ServerEditor, sha256, type ServerChange } from './server-edits.ts';
import { verifyFolder } from './verify.ts';

const T0 = Date.UTC(2026, 11, 3, 12);

function trees(files: { local?: Record<string, string>; remote?: Record<string, string> }) {
  const root = tempDir('verify');
  const local = join(root, 'local');
  const remote = join(root, 'remote');
  for (const [dir, spec] of [
    [local, files.local ?? {}],
    [remote, files.remote ?? {}],
  ] as const) {
    mkdirSync(dir);
    for (const [rel, content] of Object.entries(spec)) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
  }
  const log = join(root, 'conflicts.jsonl');
  return { root, local, remote, log, done: () => rmSync(root, { recursive: true, force: true }) };
}

function sameTimes(a: string, b: string, rel: string) {
  cpSync(join(a, rel), join(b, rel), { preserveTimestamps: true });
}

const edit = (path: string, content: string, at = T0, replaced?: string): ServerChange => ({
  kind: 'server-edit',
  path,
  sha256: sha256(Buffer.from(content)),
  size: Buffer.byteLength(content),
  ...(replaced ? { replaced: sha256(Buffer.from(replaced)) } : {}),
  at,
});

test('a server edit still at its path is drift: the local file there is not a difference', () => {
  const t = trees({ local: { 'a.txt': 'local version', 'b.txt': 'same' }, remote: { 'a.txt': 'server version 0001' } });
  sameTimes(t.local, t.remote, 'b.txt');
  const v = verifyFolder(t.local, t.remote, { ledger: { changes: [edit('a.txt', 'server version 0001')] } });
  assert.deepEqual(v.differences, []);
  assert.equal(v.serverEdits.atPath, 1);
  t.done();
});

test('a server edit overwritten with no conflict copy is lost', () => {
  const t = trees({ local: { 'a.txt': 'local version' } });
  sameTimes(t.local, t.remote, 'a.txt');
  const v = verifyFolder(t.local, t.remote, { ledger: { changes: [edit('a.txt', 'server version 0001')] } });
  assert.equal(v.serverEdits.lost, 1);
  assert.match(v.differences.join('\n'), /server edit lost: server-edit of "a\.txt"/);
  t.done();
});

test('a server edit in a logged conflict copy is kept; an unlogged copy is a difference', () => {
  const copy = 'a.ferry-conflict-20261203-120000.txt';
  const t = trees({ local: { 'a.txt': 'local version' }, remote: { [copy]: 'server version 0001' } });
  sameTimes(t.local, t.remote, 'a.txt');
  const ledger = { changes: [edit('a.txt', 'server version 0001')] };
  let v = verifyFolder(t.local, t.remote, { ledger, conflictLog: t.log });
  assert.match(v.differences.join('\n'), /conflict copy not in the conflict log/);
  assert.match(v.differences.join('\n'), /server edit kept with no conflict record/);
  writeFileSync(t.log, `${JSON.stringify({ path: 'a.txt', action: 'kept-remote-copy', conflictCopyPath: copy })}\n`);
  v = verifyFolder(t.local, t.remote, { ledger, conflictLog: t.log });
  assert.deepEqual(v.differences, []);
  assert.equal(v.serverEdits.conflictCopy, 1);
  t.done();
});

test('a server edit the driver itself replaced later need not be found', () => {
  const t = trees({ local: { 'a.txt': 'local version' }, remote: { 'a.txt': 'server version 0002' } });
  const changes = [
    edit('a.txt', 'server version 0001'),
    edit('a.txt', 'server version 0002', T0 + 5000, 'server version 0001'),
  ];
  const v = verifyFolder(t.local, t.remote, { ledger: { changes } });
  assert.deepEqual(v.differences, []);
  assert.deepEqual([v.serverEdits.superseded, v.serverEdits.atPath], [1, 1]);
  t.done();
});

test('a directory deleted locally stays while it holds only server versions; anything else in it differs', () => {
  const t = trees({ remote: { 'd/e/new.bin': 'created on the server' } });
  const created: ServerChange = { ...edit('d/e/new.bin', 'created on the server'), kind: 'server-create' };
  assert.deepEqual(verifyFolder(t.local, t.remote, { ledger: { changes: [created] } }).differences, []);
  writeFileSync(join(t.remote, 'd', 'stray'), 'x');
  assert.deepEqual(verifyFolder(t.local, t.remote, { ledger: { changes: [created] } }).differences, [
    'only remote: "d"',
    'only remote: "d/stray"',
  ]);
  t.done();
});

test('a conflict copy inside a directory kept as a conflict copy later is covered by the outer record', () => {
  const inner = 'd.ferry-conflict-20261203-120100/a.ferry-conflict-20261203-120000.txt';
  const t = trees({ remote: { [inner]: 'server version 0001' } });
  writeFileSync(
    t.log,
    `${JSON.stringify({ path: 'd', action: 'kept-remote-copy', conflictCopyPath: 'd.ferry-conflict-20261203-120100' })}\n`,
  );
  const v = verifyFolder(t.local, t.remote, {
    ledger: { changes: [edit('d/a.txt', 'server version 0001')] },
    conflictLog: t.log,
  });
  assert.deepEqual(v.differences, []);
  assert.equal(v.serverEdits.conflictCopy, 1);
  t.done();
});

test('an empty server-only directory is accounted only where the server user wrote a file below it', () => {
  const t = trees({});
  mkdirSync(join(t.remote, 'kept', 'deeper'), { recursive: true });
  mkdirSync(join(t.remote, 'stray'));
  const created: ServerChange = { ...edit('kept/deeper/x', 'created, deleted later'), kind: 'server-create' };
  const deleted: ServerChange = {
    kind: 'server-delete',
    path: 'kept/deeper/x',
    replaced: 'created, deleted later',
    at: T0 + 1,
  };
  deleted.replaced = created.sha256;
  const v = verifyFolder(t.local, t.remote, { ledger: { changes: [created, deleted] } });
  assert.deepEqual(v.differences, ['only remote: "stray"']);
  assert.deepEqual(v.serverEdits.emptiedDirs, ['kept/deeper', 'kept']);
  t.done();
});

test("an empty server-only directory is accounted where a rename of Ferry's took the server user's file", () => {
  // Seed 1203702: the driver created d/=54/.env10; Ferry renamed d/=54 to moved/=54 (carrying
  // the file), kept the directory when it was deleted locally, and the driver deleted the file
  // at its new path. A driver's delete of a file of Ferry's accounts for nothing.
  const t = trees({});
  mkdirSync(join(t.remote, 'moved', '=54'), { recursive: true });
  mkdirSync(join(t.remote, 'ferrys'));
  const created: ServerChange = { ...edit('d/=54/.env10', 'created, carried, deleted'), kind: 'server-create' };
  const deleted: ServerChange = { kind: 'server-delete', path: 'moved/=54/.env10', at: T0 + 1 };
  deleted.replaced = created.sha256;
  const ferrysDeleted: ServerChange = {
    kind: 'server-delete',
    path: 'ferrys/f.txt',
    replaced: sha256(Buffer.from('a version of Ferry')),
    at: T0 + 2,
  };
  const v = verifyFolder(t.local, t.remote, { ledger: { changes: [created, deleted, ferrysDeleted] } });
  assert.deepEqual(v.differences, ['only remote: "ferrys"']);
  assert.deepEqual(v.serverEdits.emptiedDirs, ['moved/=54', 'moved']);
  t.done();
});

test('a server delete Ferry has not looked for yet is allowed until a full pass, not after', () => {
  const t = trees({ local: { 'gone.txt': 'restored by the next full pass' } });
  const del: ServerChange = { kind: 'server-delete', path: 'gone.txt', replaced: 'x', at: T0 };
  let v = verifyFolder(t.local, t.remote, { ledger: { changes: [del], unseenDeletesSince: T0 - 1000 } });
  assert.deepEqual([v.differences, v.unseenDeletes], [[], ['gone.txt']]);
  v = verifyFolder(t.local, t.remote, { ledger: { changes: [del], unseenDeletesSince: T0 + 1000 } });
  assert.deepEqual(v.differences, ['only local: "gone.txt"']);
  v = verifyFolder(t.local, t.remote, { ledger: { changes: [del] } });
  assert.deepEqual(v.differences, ['only local: "gone.txt"']);
  t.done();
});

test('the trash keeps a version (pluggable kept area); an aside name alone does not', () => {
  const t = trees({
    local: { 'a.txt': 'local', 'b.txt': 'local b' },
    remote: {
      '.ferry-trash/20261203-120000/a.txt': 'server version 0001',
      '.ferry-aside-1-b.txt': 'server version 0002',
    },
  });
  sameTimes(t.local, t.remote, 'a.txt');
  sameTimes(t.local, t.remote, 'b.txt');
  const changes = [edit('a.txt', 'server version 0001'), edit('b.txt', 'server version 0002')];
  const v = verifyFolder(t.local, t.remote, { ledger: { changes } });
  assert.deepEqual(v.serverEdits.kept, { trash: 1 });
  assert.equal(v.serverEdits.lost, 1);
  assert.deepEqual(v.differences, [
    'server edit kept with no conflict record: server-edit of "b.txt" at 2026-12-03T12:00:00.000Z (sha256 ' +
      `${sha256(Buffer.from('server version 0002')).slice(0, 16)}, 19 B) is only at ".ferry-aside-1-b.txt"`,
  ]);
  const none = verifyFolder(t.local, t.remote, { ledger: { changes }, keptAreas: [] });
  assert.equal(none.serverEdits.lost, 2);
  t.done();
});

test('a server file nobody accounts for is a difference', () => {
  const t = trees({ remote: { 'unknown.txt': 'not written by the driver' } });
  assert.deepEqual(verifyFolder(t.local, t.remote, { ledger: { changes: [] } }).differences, [
    'only remote: "unknown.txt"',
  ]);
  t.done();
});

test('the server driver: its ledger accounts for every change it made, with nobody else writing', () => {
  const root = tempDir('server-edits');
  const remote = join(root, 'remote');
  const local = join(root, 'local');
  mkdirSync(join(remote, 'sub', 'deeper'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(remote, i % 2 ? 'sub' : '', `f${i}`), `original ${i}`);
  cpSync(remote, local, { recursive: true, preserveTimestamps: true });
  const editor = new ServerEditor({
    remoteDir: remote,
    stagingDir: join(root, 'staging'),
    localRoot: local,
    rng: new Rng(42),
    token: 'test',
    maxBytes: 1024 * 1024,
  });
  // Files modified in the last 2 s are left alone: pretend the originals are old.
  const age = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
      if (e.isFile()) utimesSync(join(e.parentPath, e.name), new Date(T0), new Date(T0));
  };
  age(remote);
  age(local);
  for (let i = 0; i < 60; i++) editor.step();
  assert.deepEqual(editor.failures, []);
  assert.ok(editor.total >= 20, `only ${editor.total} changes`);
  const v = verifyFolder(local, remote, { ledger: { changes: editor.changes, unseenDeletesSince: 0 } });
  assert.deepEqual(v.differences, []);
  assert.equal(v.serverEdits.lost, 0);
  rmSync(root, { recursive: true, force: true });
});
