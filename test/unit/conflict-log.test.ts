import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendConflict, readConflicts, type ConflictRecord } from '../../main/engine/conflict-log.ts';
import { conflictCopyName, MAX_NAME_BYTES } from '../../main/core/conflict-name.ts';
import { baseName } from '../../main/core/tree.ts';

const when = new Date(Date.UTC(2026, 10, 23, 14, 25, 1, 999));
const STAMP = '.ferry-conflict-20261123-142501';
const none = () => false;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('conflict log file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-conflicts-'));
    file = join(dir, 'nested', 'state', 'conflicts.jsonl');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const r1: ConflictRecord = {
    time: '2026-11-23T14:25:01.000Z',
    path: 'docs/report.txt',
    local: { size: 10, mtimeMs: 1_700_000_000_000, hash: 'ab'.repeat(32) },
    remote: { size: 12, mtimeMs: 1_700_000_001_000 },
    action: 'kept-remote-copy',
    conflictCopyPath: `docs/report${STAMP}.txt`,
  };
  const r2: ConflictRecord = {
    time: '2026-11-23T14:26:00.000Z',
    path: 'old.txt',
    local: null,
    remote: { size: 1, mtimeMs: 0 },
    action: 'skipped-local-delete',
    note: 'changed on the server since the last sync',
  };

  it('reads a missing log as empty', async () => {
    assert.deepEqual(await readConflicts(file), { records: [], malformed: 0 });
  });

  it('appends records as lines (creating directories) and reads them back in order', async () => {
    await appendConflict(file, r1);
    await appendConflict(file, r2);
    const text = await readFile(file, 'utf8');
    assert.equal(text.split('\n').length, 3, 'two lines plus the final newline');
    assert.deepEqual(await readConflicts(file), { records: [r1, r2], malformed: 0 });
  });

  it('skips and counts malformed lines, including a torn last line', async () => {
    await appendConflict(file, r1);
    await appendFile(file, 'not json\n{"time":"nope","path":"x","action":"kept-remote-copy"}\n\n');
    await appendConflict(file, r2);
    await appendFile(file, '{"time":"2026-11-23T14:27:00.000Z","pa');
    const log = await readConflicts(file);
    assert.deepEqual(log.records, [r1, r2]);
    assert.equal(log.malformed, 3);
  });

  it('records conflicts whose sides are a directory or a symlink (a kind clash)', async () => {
    // A server link where a local directory goes failed validation, and the whole pass with it.
    const clash: ConflictRecord = {
      time: '2026-11-23T14:28:00.000Z',
      path: 'escape',
      local: { kind: 'dir' },
      remote: { kind: 'symlink', target: '/outside/the/target' },
      action: 'kept-remote-copy',
      conflictCopyPath: `escape${STAMP}`,
    };
    await appendConflict(file, clash);
    assert.deepEqual(await readConflicts(file), { records: [clash], malformed: 0 });
  });

  it('refuses to append an invalid record', async () => {
    const bad = { ...r1, action: 'shrugged' } as unknown as ConflictRecord;
    await assert.rejects(appendConflict(file, bad), /invalid conflict record/);
    assert.deepEqual(await readConflicts(file), { records: [], malformed: 0 });
  });
});

describe('conflictCopyName', () => {
  const cases: { input: string; expected: string }[] = [
    { input: 'report.txt', expected: `report${STAMP}.txt` },
    { input: 'docs/q3/report.txt', expected: `docs/q3/report${STAMP}.txt` },
    { input: 'Makefile', expected: `Makefile${STAMP}` },
    { input: '.env', expected: `.env${STAMP}` },
    { input: 'conf/.env.local', expected: `conf/.env${STAMP}.local` },
    { input: 'a.tar.gz', expected: `a.tar${STAMP}.gz` },
    { input: 'trailing.', expected: `trailing.${STAMP}` },
    { input: 'dir.d/file', expected: `dir.d/file${STAMP}` },
  ];
  for (const t of cases) {
    it(`${t.input} -> ${t.expected}`, () => assert.equal(conflictCopyName(t.input, when, none), t.expected));
  }

  it('uses UTC whatever the date object was built from', () => {
    assert.equal(
      conflictCopyName('x', new Date('2026-01-02T03:04:05+09:00'), none),
      'x.ferry-conflict-20260101-180405',
    );
  });

  it('counts up while names are taken', () => {
    const taken = new Set([`report${STAMP}.txt`, `report${STAMP}-2.txt`]);
    assert.equal(
      conflictCopyName('report.txt', when, (p) => taken.has(p)),
      `report${STAMP}-3.txt`,
    );
  });

  it('gives up with an error when every candidate is taken', () => {
    assert.throws(() => conflictCopyName('a', when, () => true), /all taken/);
  });

  it('rejects the root', () => {
    assert.throws(() => conflictCopyName('', when, none), /root/);
  });

  it('keeps a 255-byte name at 255 bytes by shortening the stem', () => {
    const name = `${'n'.repeat(251)}.txt`;
    assert.equal(bytes(name), 255);
    const out = conflictCopyName(`d/${name}`, when, none);
    assert.equal(bytes(baseName(out)), MAX_NAME_BYTES);
    assert.ok(out.startsWith('d/nnn'));
    assert.ok(out.endsWith(`${STAMP}.txt`));
  });

  it('stays within 255 bytes with a counter too', () => {
    const name = `${'n'.repeat(251)}.txt`;
    const first = conflictCopyName(name, when, none);
    const out = conflictCopyName(name, when, (p) => p === first);
    assert.ok(out.endsWith(`${STAMP}-2.txt`));
    assert.equal(bytes(out), MAX_NAME_BYTES);
  });

  it('truncates multi-byte stems on a code point boundary', () => {
    // 'é' is 2 bytes, '😀' is 4 (a surrogate pair in JS): cuts must never split either.
    for (const ch of ['é', '😀', '中']) {
      const name = `${ch.repeat(200)}.md`;
      const out = conflictCopyName(name, when, none);
      assert.ok(bytes(out) <= MAX_NAME_BYTES, `${ch}: ${bytes(out)} bytes`);
      assert.ok(bytes(out) > MAX_NAME_BYTES - bytes(ch), `${ch}: cut more than needed`);
      assert.ok(!out.includes('\uFFFD'));
      assert.equal(Buffer.from(out, 'utf8').toString('utf8'), out, 'not valid UTF-8 round trip');
      const stem = out.slice(0, out.indexOf(STAMP));
      assert.equal(stem, ch.repeat([...stem].length), `${ch}: stem is not whole characters`);
    }
  });

  it('treats an absurdly long extension as part of the stem', () => {
    const name = `a.${'x'.repeat(250)}`;
    const out = conflictCopyName(name, when, none);
    assert.equal(bytes(out), MAX_NAME_BYTES);
    assert.ok(out.endsWith(STAMP));
  });
});
