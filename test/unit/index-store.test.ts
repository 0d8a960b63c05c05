import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIndex, saveIndex, snapshotProblem } from '../../main/engine/index-store.ts';
import type { Entry } from '../../main/core/tree.ts';

const meta = { localRoot: '/home/u/site', remote: 'deploy@web1:/srv/site' };
const HASH = 'a'.repeat(64);

function sample(): Map<string, Entry> {
  return new Map<string, Entry>([
    ['', { kind: 'dir', mode: 0o755 }],
    ['a.txt', { kind: 'file', size: 3, mtimeMs: 1_700_000_000_123, mode: 0o644, hash: HASH }],
    ['d', { kind: 'dir', mode: 0o750 }],
    ['d/e', { kind: 'dir', mode: 0o700 }],
    ['d/e/f.bin', { kind: 'file', size: 0, mtimeMs: 0, mode: 0o600 }],
    ['d/link', { kind: 'symlink', target: '../a.txt' }],
    ['ünïcode name.txt', { kind: 'file', size: 10, mtimeMs: 1.5, mode: 0o4755 }],
  ]);
}

describe('index store', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-index-'));
    file = join(dir, 'state', 'index.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('treats a missing file as "no index yet"', async () => {
    assert.equal(await loadIndex(file), undefined);
  });

  it('round-trips a snapshot with its metadata', async () => {
    await saveIndex(file, sample(), meta);
    assert.deepEqual(await loadIndex(file), sample());
    const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    assert.equal(json.version, 1);
    assert.equal(json.localRoot, meta.localRoot);
    assert.equal(json.remote, meta.remote);
    assert.ok(!Number.isNaN(Date.parse(json.savedAt as string)));
  });

  it('strips fields that are not part of an entry', async () => {
    const snap = new Map<string, Entry>([['x', { kind: 'dir', mode: 0o755, extra: 1 } as unknown as Entry]]);
    await saveIndex(file, snap, meta);
    assert.deepEqual(await loadIndex(file), new Map([['x', { kind: 'dir', mode: 0o755 }]]));
  });

  it('leaves no temp file behind', async () => {
    await saveIndex(file, sample(), meta);
    await saveIndex(file, sample(), meta);
    assert.deepEqual(await readdir(join(dir, 'state')), ['index.json']);
  });

  it('rejects corrupt JSON with an error naming the file and how to recover', async () => {
    await saveIndex(file, sample(), meta);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length / 2));
    await assert.rejects(loadIndex(file), (err: Error) => {
      assert.ok(err.message.includes(file), err.message);
      assert.match(err.message, /not valid JSON/);
      assert.match(err.message, /Delete that file/);
      return true;
    });
  });

  const badFiles: { name: string; content: unknown; expect: RegExp }[] = [
    {
      name: 'wrong version',
      content: { version: 0, localRoot: '', remote: '', savedAt: '', entries: [] },
      expect: /version/,
    },
    {
      name: 'newer version',
      content: { version: 2, localRoot: '', remote: '', savedAt: '', entries: [] },
      expect: /newer version/,
    },
    { name: 'missing entries', content: { version: 1, localRoot: '', remote: '', savedAt: '' }, expect: /entries/ },
    { name: 'not an object', content: [1, 2], expect: /damaged/ },
    {
      name: 'negative size',
      content: {
        version: 1,
        localRoot: '',
        remote: '',
        savedAt: '',
        entries: [['a', { kind: 'file', size: -1, mtimeMs: 0, mode: 0o644 }]],
      },
      expect: /entry "a": field\.size/,
    },
    {
      name: 'unknown kind',
      content: { version: 1, localRoot: '', remote: '', savedAt: '', entries: [['a', { kind: 'fifo' }]] },
      expect: /entry "a"/,
    },
    {
      name: 'unsafe path',
      content: {
        version: 1,
        localRoot: '',
        remote: '',
        savedAt: '',
        entries: [['../etc', { kind: 'dir', mode: 0o755 }]],
      },
      expect: /not a safe relative path/,
    },
    {
      name: 'missing parent',
      content: { version: 1, localRoot: '', remote: '', savedAt: '', entries: [['a/b', { kind: 'dir', mode: 0o755 }]] },
      expect: /parent "a" is missing/,
    },
    {
      name: 'duplicate path',
      content: {
        version: 1,
        localRoot: '',
        remote: '',
        savedAt: '',
        entries: [
          ['a', { kind: 'dir', mode: 0o755 }],
          ['a', { kind: 'dir', mode: 0o755 }],
        ],
      },
      expect: /listed twice/,
    },
  ];
  for (const t of badFiles) {
    it(`rejects an invalid file: ${t.name}`, async () => {
      await saveIndex(file, sample(), meta); // creates the directory
      await writeFile(file, JSON.stringify(t.content));
      await assert.rejects(loadIndex(file), (err: Error) => {
        assert.ok(err.message.includes(file), err.message);
        assert.match(err.message, t.expect);
        return true;
      });
    });
  }

  const badSnapshots: { name: string; entries: [string, unknown][]; expect: RegExp }[] = [
    { name: 'fractional size', entries: [['a', { kind: 'file', size: 1.5, mtimeMs: 0, mode: 0o644 }]], expect: /size/ },
    {
      name: 'infinite mtime',
      entries: [['a', { kind: 'file', size: 1, mtimeMs: Infinity, mode: 0o644 }]],
      expect: /mtimeMs/,
    },
    { name: 'NaN mtime', entries: [['a', { kind: 'file', size: 1, mtimeMs: NaN, mode: 0o644 }]], expect: /mtimeMs/ },
    { name: 'mode with type bits', entries: [['a', { kind: 'dir', mode: 0o40755 }]], expect: /mode/ },
    { name: 'negative mode', entries: [['a', { kind: 'dir', mode: -1 }]], expect: /mode/ },
    {
      name: 'short hash',
      entries: [['a', { kind: 'file', size: 1, mtimeMs: 0, mode: 0o644, hash: 'abc' }]],
      expect: /hash/,
    },
    {
      name: 'uppercase hash',
      entries: [['a', { kind: 'file', size: 1, mtimeMs: 0, mode: 0o644, hash: 'A'.repeat(64) }]],
      expect: /hash/,
    },
    { name: 'symlink without target', entries: [['a', { kind: 'symlink' }]], expect: /target/ },
    {
      name: 'missing parent',
      entries: [['a/b.txt', { kind: 'file', size: 1, mtimeMs: 0, mode: 0o644 }]],
      expect: /parent "a" is missing/,
    },
    {
      name: 'parent is a file',
      entries: [
        ['a', { kind: 'file', size: 1, mtimeMs: 0, mode: 0o644 }],
        ['a/b', { kind: 'dir', mode: 0o755 }],
      ],
      expect: /parent "a" is a file/,
    },
    { name: 'path with ..', entries: [['a/../b', { kind: 'dir', mode: 0o755 }]], expect: /safe relative path/ },
    { name: 'leading slash', entries: [['/a', { kind: 'dir', mode: 0o755 }]], expect: /safe relative path/ },
    {
      name: 'root as a file',
      entries: [['', { kind: 'file', size: 1, mtimeMs: 0, mode: 0o644 }]],
      expect: /root must be a dir/,
    },
  ];
  for (const t of badSnapshots) {
    it(`refuses to save an invalid snapshot and keeps the old file: ${t.name}`, async () => {
      await saveIndex(file, sample(), meta);
      const before = await readFile(file, 'utf8');
      const snap = new Map(t.entries) as unknown as Map<string, Entry>;
      assert.match(snapshotProblem(snap) ?? '', t.expect);
      await assert.rejects(saveIndex(file, snap, meta), (err: Error) => {
        assert.match(err.message, /Refusing to save/);
        assert.match(err.message, t.expect);
        return true;
      });
      assert.equal(await readFile(file, 'utf8'), before);
      assert.deepEqual(await readdir(join(dir, 'state')), ['index.json']);
    });
  }

  it('accepts top-level entries without a root entry', async () => {
    const snap = new Map<string, Entry>([['top.txt', { kind: 'file', size: 1, mtimeMs: 0, mode: 0o644 }]]);
    assert.equal(snapshotProblem(snap), undefined);
    await saveIndex(file, snap, meta);
    assert.deepEqual(await loadIndex(file), snap);
  });

  it('saves an empty snapshot', async () => {
    await saveIndex(file, new Map(), meta);
    assert.deepEqual(await loadIndex(file), new Map());
  });

  it('writes the layout it reads line by line, byte for byte what one JSON text would be', async () => {
    const big = sample();
    for (let i = 0; i < 20_000; i++)
      big.set(`d/e/f ${i} line\nbreak \\ "q" ${'x'.repeat(60)}`, {
        kind: 'file',
        size: i,
        mtimeMs: i * 1000,
        mode: 0o644,
      });
    await saveIndex(file, big, meta);
    const text = await readFile(file, 'utf8');
    assert.ok(text.length > 2 << 20, 'more than one piece');
    const json = JSON.parse(text) as { savedAt: string; entries: [string, Entry][] };
    const head = JSON.stringify({ version: 1, localRoot: meta.localRoot, remote: meta.remote, savedAt: json.savedAt });
    const lines = json.entries.map((pair) => JSON.stringify(pair));
    assert.equal(text, `${head.slice(0, -1)},"entries":[\n${lines.join(',\n')}\n]}\n`);
    assert.deepEqual(await loadIndex(file), big);
  });

  it('round-trips an empty index and loads a valid index written on one line', async () => {
    await saveIndex(file, new Map(), meta);
    assert.match(await readFile(file, 'utf8'), /"entries":\[\n\n\]\}\n$/);
    assert.deepEqual(await loadIndex(file), new Map());
    await writeFile(
      file,
      JSON.stringify({ version: 1, localRoot: '', remote: '', savedAt: '', entries: [...sample()] }),
    );
    assert.deepEqual(await loadIndex(file), sample());
  });

  it('loads an index whose layout was changed but is still the same JSON (a blank line added)', async () => {
    await saveIndex(file, sample(), meta);
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.splice(3, 0, '');
    await writeFile(file, lines.join('\n'));
    assert.deepEqual(await loadIndex(file), sample());
  });

  const damagedLines: { name: string; edit: (lines: string[]) => void }[] = [
    { name: 'a line cut short', edit: (l) => (l[3] = (l[3] as string).slice(0, 10)) },
    { name: 'a separating comma lost', edit: (l) => (l[2] = (l[2] as string).slice(0, -1)) },
    { name: 'a comma after the last entry', edit: (l) => (l[l.length - 2] += ',') },
  ];
  for (const t of damagedLines) {
    it(`rejects an index saved by Ferry and then damaged: ${t.name}`, async () => {
      await saveIndex(file, sample(), meta);
      const lines = (await readFile(file, 'utf8')).split('\n');
      t.edit(lines);
      await writeFile(file, lines.join('\n'));
      await assert.rejects(loadIndex(file), (err: Error) => {
        assert.ok(err.message.includes(file), err.message);
        assert.match(err.message, /damaged: not valid JSON/);
        return true;
      });
    });
  }
});
