import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { watchDirectoriesThatReplacedFiles } from '../../main/engine/chokidar-kind-change.ts';
import { createIgnoreMatcher } from '../../main/engine/ignore.ts';
import {
  belowSymlinkCheck,
  classifyWatcherError,
  closeWithin,
  unmangledPath,
  watchFolder,
  type LocalWatcher,
  type WatcherError,
} from '../../main/engine/watcher.ts';

// chokidar 6.0's close() was once seen to leave an fs.watch open (see LocalWatcher.close):
// that would keep this test file's process, and with it the whole test run, alive for ever.
// The timer is unref'd, so it only fires when such a handle is still holding the process.
after(() => {
  setTimeout(() => process.exit(), 3000).unref();
});

/** Polls until `cond` holds; fails with `what` after `timeoutMs`. Never asserts on timing itself. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watchFolder (real file system)', () => {
  let root: string;
  let watcher: LocalWatcher;
  const dirty: string[] = [];
  const errors: WatcherError[] = [];
  const seen = (p: string) => dirty.includes(p);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-watch-'));
    await writeFile(join(root, 'existing.txt'), 'x');
    await writeFile(join(root, 'was-a-file'), 'x');
    await mkdir(join(root, 'b\\s'));
    await writeFile(join(root, 'b\\s', 'was-a-file'), 'x');
    await symlink('existing.txt', join(root, 'was-a-link'));
    const matcher = createIgnoreMatcher({ patterns: ['build/'] });
    watcher = watchFolder(root, {
      onDirty: (p) => dirty.push(p),
      onError: (e) => errors.push(e),
      ignores: (rel, isDir) => matcher.ignores(rel, isDir),
    });
    await watcher.start();
  });

  after(async () => {
    await watcher.close();
    await rm(root, { recursive: true, force: true });
  });

  it('does not report what existed before start', () => {
    assert.ok(!seen('existing.txt'));
  });

  it('reports a created, modified and deleted file', async () => {
    await writeFile(join(root, 'a.txt'), 'one');
    await waitFor(() => seen('a.txt'), 'create a.txt');
    dirty.length = 0;
    await writeFile(join(root, 'existing.txt'), 'changed');
    await waitFor(() => seen('existing.txt'), 'modify existing.txt');
    dirty.length = 0;
    await unlink(join(root, 'a.txt'));
    await waitFor(() => seen('a.txt'), 'delete a.txt');
  });

  it('reports nested directories and files with relative POSIX paths', async () => {
    dirty.length = 0;
    await mkdir(join(root, 'd', 'e'), { recursive: true });
    await waitFor(() => seen('d'), 'create d');
    // Once d/e is known, a new file deep inside it is reported by its own path.
    await waitFor(() => seen('d/e'), 'create d/e');
    await writeFile(join(root, 'd', 'e', 'f.txt'), 'deep');
    await waitFor(() => seen('d/e/f.txt'), 'create d/e/f.txt');
    assert.ok(
      dirty.every((p) => !p.includes('\\') && !p.startsWith('/')),
      `non-relative path in ${dirty.join(', ')}`,
    );
  });

  it('reports both names of a renamed file and a renamed directory', async () => {
    dirty.length = 0;
    await rename(join(root, 'd', 'e', 'f.txt'), join(root, 'd', 'g.txt'));
    await waitFor(() => seen('d/e/f.txt') && seen('d/g.txt'), 'rename d/e/f.txt -> d/g.txt');
    dirty.length = 0;
    await rename(join(root, 'd'), join(root, 'd2'));
    await waitFor(() => seen('d') && seen('d2'), 'rename d -> d2');
  });

  it('reports a permission change of a directory', async () => {
    // chokidar itself has no event for a directory's own chmod; the soak found directory
    // modes that reached the server only at the next full pass.
    await mkdir(join(root, 'modes', 'sub'), { recursive: true, mode: 0o700 });
    await waitFor(() => seen('modes/sub'), 'create modes/sub');
    dirty.length = 0;
    await chmod(join(root, 'modes', 'sub'), 0o755);
    await waitFor(() => seen('modes/sub'), 'chmod modes/sub');
    dirty.length = 0;
    await chmod(join(root, 'modes'), 0o750);
    await waitFor(() => seen('modes'), 'chmod modes');
  });

  it('reports a permission change of a file that was read after it was written', async () => {
    // chokidar drops a chmod once atime is past mtime, which reading the file (as Ferry does
    // when it uploads it) causes; the soak found file modes that never reached the server.
    const f = join(root, 'modes', 'read-me.txt');
    await writeFile(f, 'content');
    await waitFor(() => seen('modes/read-me.txt'), 'create modes/read-me.txt');
    const past = new Date(Date.now() - 60_000);
    dirty.length = 0;
    await utimes(f, new Date(), past); // atime now, mtime a minute ago: as after a read
    await waitFor(() => seen('modes/read-me.txt'), 'utimes modes/read-me.txt');
    // The utimes' events must be out of the way before the chmod: a sentinel written after it
    // in the same directory (events arrive in order), so a late one cannot pass for the chmod's.
    await writeFile(join(root, 'modes', 'sentinel-utimes'), 'x');
    await waitFor(() => seen('modes/sentinel-utimes'), 'create modes/sentinel-utimes');
    dirty.length = 0;
    await chmod(f, 0o600);
    await waitFor(() => seen('modes/read-me.txt'), 'chmod modes/read-me.txt');
  });

  it('reports paths below a directory whose name holds a backslash under their real names', async () => {
    dirty.length = 0;
    await mkdir(join(root, 'p\\q', 'r'), { recursive: true });
    await waitFor(() => seen('p\\q/r'), 'create p\\q/r');
    await writeFile(join(root, 'p\\q', 'r', 'f.txt'), 'x');
    await waitFor(() => seen('p\\q/r/f.txt'), 'create p\\q/r/f.txt');
    assert.deepEqual(
      dirty.filter((p) => p.startsWith('p/')),
      [],
    );
  });

  it('watches a directory that replaced a file or a symlink of the same name', async () => {
    // chokidar 6.0 listed such a directory once and never watched it: a file moved into it
    // later went unnoticed (the CI soak: it stayed local-only while Ferry reported in sync).
    await writeFile(join(root, 'new-file'), 'x');
    await waitFor(() => seen('new-file'), 'create new-file');
    // Found by the first scan, created later, below a name chokidar mangles, and a symlink.
    const names = ['was-a-file', 'new-file', 'b\\s/was-a-file', 'was-a-link'];
    for (const [i, name] of names.entries()) {
      dirty.length = 0;
      // In one go, as the soak's driver does: chokidar then sees the directory, never the gap.
      rmSync(join(root, name));
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, 'first.txt'), 'x');
      await waitFor(() => seen(`${name}/first.txt`), `${name}/first.txt`);
      await writeFile(join(root, `outside-${i}.txt`), 'x');
      await waitFor(() => seen(`outside-${i}.txt`), `create outside-${i}.txt`);
      dirty.length = 0;
      await rename(join(root, `outside-${i}.txt`), join(root, name, 'moved-in.txt'));
      await waitFor(() => seen(`${name}/moved-in.txt`), `a file moved into ${name}`);
      await writeFile(join(root, name, 'later.txt'), 'x');
      await waitFor(() => seen(`${name}/later.txt`), `a file written in ${name}`);
    }
    assert.deepEqual(errors, []);
  });

  it('does not report ignored paths', async () => {
    dirty.length = 0;
    await writeFile(join(root, '.x.swp'), 'swap');
    await mkdir(join(root, 'build'));
    await writeFile(join(root, 'build', 'out.js'), 'ignored');
    await writeFile(join(root, 'sentinel.txt'), 'after the ignored ones');
    await waitFor(() => seen('sentinel.txt'), 'create sentinel.txt');
    await writeFile(join(root, 'build', 'out2.js'), 'ignored');
    await writeFile(join(root, 'sentinel2.txt'), 'after the ignored ones');
    await waitFor(() => seen('sentinel2.txt'), 'create sentinel2.txt');
    assert.deepEqual(
      dirty.filter((p) => p === '.x.swp' || p.startsWith('build')),
      [],
    );
    assert.deepEqual(errors, []);
  });

  it('close() is idempotent and a closed watcher cannot start again', async () => {
    const w = watchFolder(root, { onDirty: () => {}, onError: () => {}, ignores: () => false });
    await w.start();
    await w.close();
    await w.close();
    await assert.rejects(w.start());
  });
});

/**
 * Writes sentinel files in `root`, one at a time, each awaited, until two in a row brought
 * nothing but sentinels to `dirty` and `asked`: chokidar has then caught up with everything
 * before them. Event-driven, no sleep: a late crawl shows up between two sentinels.
 */
async function quiesce(root: string, dirty: string[], asked: string[], tag: string): Promise<void> {
  let quiet = 0;
  for (let k = 0; quiet < 2; k++) {
    assert.ok(k < 50, `the watcher never went quiet: ${dirty.slice(-10).join(', ')}`);
    const name = `sentinel-${tag}-${k}.txt`;
    const [d0, a0] = [dirty.length, asked.length];
    await writeFile(join(root, name), 'x');
    await waitFor(() => dirty.includes(name), `create ${name}`);
    const other = [...dirty.slice(d0), ...asked.slice(a0)].filter((p) => !p.startsWith(`sentinel-${tag}-`));
    quiet = other.length === 0 ? quiet + 1 : 0;
  }
}

describe('watchFolder with directories swapped for symlinks (real chokidar)', () => {
  // Chokidar 6 reads a directory that was just replaced by a symlink through the link: each
  // swap below made plain chokidar report every entry of `outside` under d<n>/ (thousands of
  // events in 40 swaps; with a link to / it crawled /proc). Nothing below a link is ours, and
  // chokidar must not even be let in: the guard in `ignored` stops it. Below a directory
  // whose name holds a backslash chokidar asks `ignored` about a path with a slash instead.
  let root: string;
  let outside: string;
  let watcher: LocalWatcher;
  const dirty: string[] = [];
  const asked: string[] = [];
  const errors: WatcherError[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-watch-swap-'));
    outside = await mkdtemp(join(tmpdir(), 'ferry-watch-outside-'));
    for (let i = 0; i < 10; i++) {
      await mkdir(join(outside, `s${i}`, 'deep'), { recursive: true });
      await writeFile(join(outside, `s${i}`, 'deep', 'f'), 'outside');
    }
    await mkdir(join(root, 'back\\slash'));
    const ignores = (rel: string) => {
      asked.push(rel);
      return false;
    };
    watcher = watchFolder(root, { onDirty: (p) => dirty.push(p), onError: (e) => errors.push(e), ignores });
    await watcher.start();
  });

  after(async () => {
    await watcher.close();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  for (const parent of ['', 'back\\slash']) {
    it(`reports the links but nothing read through them, and takes type races for changes, not failures (${parent || 'top level'})`, async () => {
      dirty.length = 0;
      asked.length = 0;
      for (let i = 0; i < 40; i++) {
        const d = join(root, parent, `d${i % 10}`);
        await rm(d, { recursive: true, force: true });
        await mkdir(join(d, 'x', 'y'), { recursive: true });
        await writeFile(join(d, 'x', 'f'), 'inside');
        if (i % 5) await new Promise((r) => setTimeout(r, i % 5));
        if (i % 2) {
          await rm(d, { recursive: true, force: true });
          await symlink(outside, d);
        } else {
          await rename(d, `${d}.old`);
          await symlink(outside, d);
          await rm(`${d}.old`, { recursive: true, force: true });
        }
      }
      // Instead of a sleep: sentinels until chokidar is quiet (a late crawl through a link would
      // show up between two of them).
      await quiesce(root, dirty, asked, parent ? 'b' : 't');
      const prefix = parent ? `${parent}/` : '';
      for (let n = 0; n < 10; n++)
        assert.ok(dirty.includes(`${prefix}d${n}`), `${prefix}d${n} (now a link) was reported`);
      assert.deepEqual(
        dirty.filter((p) => /(^|\/)d\d+\/s\d+/.test(p)),
        [],
        'paths read through a link were reported',
      );
      assert.deepEqual(
        asked.filter((p) => /(^|\/)d\d+\/s\d+/.test(p)),
        [],
        'chokidar went through a link',
      );
      assert.deepEqual(errors, []);
    });
  }
});

describe('watchDirectoriesThatReplacedFiles', () => {
  it('says so, and changes nothing, on a chokidar whose internals differ', () => {
    // The watcher then falls back to polling (the repair itself is tested above, on real chokidar).
    const replacedSinceObserved = () => false;
    const tree = { observed: new Map(), replacedSinceObserved };
    assert.equal(watchDirectoriesThatReplacedFiles({ tree } as unknown as FSWatcher), false);
    assert.equal(tree.replacedSinceObserved, replacedSinceObserved);
    assert.equal(watchDirectoriesThatReplacedFiles({} as FSWatcher), false);
  });
});

describe('unmangledPath', () => {
  it('finds the directory whose name holds a backslash that chokidar turned into a slash', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ferry-unmangle-'));
    try {
      await mkdir(join(root, 'a\\b', 'c\\d\\e', 'f'), { recursive: true });
      await mkdir(join(root, 'plain', 'x'), { recursive: true });
      await symlink('/', join(root, 'a\\b', 'link'));
      assert.equal(
        unmangledPath(root, join(root, 'a', 'b', 'c', 'd', 'e', 'f', 'g.txt')),
        join(root, 'a\\b', 'c\\d\\e', 'f', 'g.txt'),
      );
      assert.equal(unmangledPath(root, join(root, 'a', 'b', 'new', 'name')), join(root, 'a\\b', 'new', 'name'));
      assert.equal(
        unmangledPath(root, join(root, 'a', 'b', 'link', 'proc', '1')),
        join(root, 'a\\b', 'link', 'proc', '1'),
      );
      assert.equal(belowSymlinkCheck(root)(unmangledPath(root, join(root, 'a', 'b', 'link', 'proc', '1'))), true);
      assert.equal(unmangledPath(root, join(root, 'plain', 'x', 'y')), join(root, 'plain', 'x', 'y'));
      assert.equal(unmangledPath(root, join(root, 'gone', 'x', 'y')), join(root, 'gone', 'x', 'y'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('belowSymlinkCheck', () => {
  it('finds a link at any depth, and never throws on a path whose ancestor became a file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ferry-below-link-'));
    try {
      await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
      await symlink('/', join(root, 'a', 'link'));
      await writeFile(join(root, 'a', 'file'), 'x');
      const below = belowSymlinkCheck(root);
      assert.equal(below(join(root, 'a', 'b', 'c', 'f')), false);
      assert.equal(below(join(root, 'a', 'link')), false, 'the link itself is ours');
      assert.equal(below(join(root, 'a', 'link', 'dev', 'shm', 'x')), true);
      // The soak's crash: lstat of <file>/dev/shm fails with ENOTDIR.
      assert.equal(below(join(root, 'a', 'file', 'dev', 'shm', 'x')), false);
      assert.equal(below(join(root, 'gone', 'x', 'y')), false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('closeWithin', () => {
  it('resolves when a close never settles, and when it fails', async () => {
    const hung = { close: () => new Promise<void>(() => {}) };
    const failed = { close: () => Promise.reject(new Error('EBADF')) };
    let settled = 0;
    await Promise.all([closeWithin(hung, 50), closeWithin(failed, 60_000)].map((p) => p.then(() => settled++)));
    assert.equal(settled, 2);
  });
});

describe('classifyWatcherError', () => {
  const withCode = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('maps ENOSPC to exhausted with an inotify fix', () => {
    const e = classifyWatcherError(
      withCode('ENOSPC', 'ENOSPC: System limit for number of file watchers reached'),
      '/home/u/site',
    );
    assert.equal(e.kind, 'exhausted');
    assert.match(e.message, /periodic full scans/);
    assert.match(e.message, /\/home\/u\/site/);
    assert.match(e.fix ?? '', /sysctl fs\.inotify\.max_user_watches=524288/);
  });

  it('maps a "too many watchers" message without a code to exhausted', () => {
    assert.equal(classifyWatcherError(new Error('too many watchers')).kind, 'exhausted');
  });

  it('maps EMFILE and ENFILE to exhausted with a ulimit fix', () => {
    for (const code of ['EMFILE', 'ENFILE']) {
      const e = classifyWatcherError(withCode(code, `${code}: too many open files`));
      assert.equal(e.kind, 'exhausted', code);
      assert.match(e.fix ?? '', /ulimit -n/, code);
    }
  });

  it('maps anything else to other, keeping the message', () => {
    const e = classifyWatcherError(withCode('EACCES', 'EACCES: permission denied, watch /x'), '/x');
    assert.equal(e.kind, 'other');
    assert.match(e.message, /permission denied/);
    assert.equal(e.fix, undefined);
    assert.equal(classifyWatcherError('weird').kind, 'other');
  });
});
