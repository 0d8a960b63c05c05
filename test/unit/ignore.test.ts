import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createIgnoreMatcher, loadFerryignore } from '../../main/engine/ignore.ts';

describe('default ignore pack', () => {
  const m = createIgnoreMatcher();
  const ignored: string[] = [
    '.x.swp',
    'src/.main.ts.swp',
    '.x.swx',
    '.x.swo',
    '4913',
    'deep/dir/4913',
    'notes.txt~',
    '~',
    '.#main.c',
    '#main.c#',
    'a/#b#',
    'file.ts___jb_tmp___',
    'file.ts___jb_old___',
    '~$report.docx',
    '.DS_Store',
    'a/b/.DS_Store',
    'Thumbs.db',
    'desktop.ini',
    '.goutputstream-ABC123',
    '.ferry-tmp-123-abc',
    'sub/.ferry-tmp-x',
  ];
  const kept: string[] = [
    '.swp',
    'x.swp',
    '4913.txt',
    'a4913',
    'a~b',
    '~a',
    'main.c#',
    '#main.c',
    'report~$.docx',
    'DS_Store',
    'thumbs.db.bak',
    '.htaccess',
    '.env',
    '.gitignore',
    '.ferryignore',
    'ferry-tmp-x',
    'a/.ferry-tmpx',
  ];
  for (const p of ignored) it(`ignores ${p}`, () => assert.equal(m.ignores(p, false), true));
  for (const p of kept) it(`keeps ${p}`, () => assert.equal(m.ignores(p, false), false));

  it('never ignores the root', () => assert.equal(m.ignores('', true), false));

  it('confines patterns that try to leave the folder to the folder: never a path, never followed', () => {
    // Patterns only ever test relative paths below the root (Ferry never reads a pattern as a
    // path): "../x" matches nothing, "/etc/passwd" is anchored to the folder's own etc/passwd.
    const escaping = createIgnoreMatcher({ patterns: ['../secret', '../../**', '/etc/passwd', '/..'] });
    for (const p of ['secret', 'd/secret', 'a.txt', 'etc', 'passwd', 'd/etc/passwd'])
      assert.equal(escaping.ignores(p, false), false, p);
    assert.equal(escaping.ignores('etc/passwd', false), true, 'the folder-relative etc/passwd');
  });

  it('ignores everything inside a Ferry temp directory', () => {
    assert.equal(m.ignores('.ferry-tmp-1/inner.txt', false), true);
  });

  it('ignores what the README says it ignores by default, and syncs the dotfiles it names', async () => {
    // The README's list, read from the README: each pattern made into a name it matches
    // ("*" becomes "x"), which the default pack must ignore and the bare matcher must not.
    const readme = await readFile(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md'), 'utf8');
    const para = /Ignored by default \(editor and OS junk\): `([^`]+)`/.exec(readme)?.[1];
    assert.ok(para, 'the README lists the default ignores');
    const patterns = para.split(/\s+/).filter(Boolean);
    assert.ok(patterns.length >= 10, patterns.join(' '));
    const bare = createIgnoreMatcher({ useDefaults: false });
    for (const pattern of patterns) {
      const name = pattern.replaceAll('*', 'x');
      assert.equal(m.ignores(name, false), true, `${name} (from ${pattern}) is ignored by default`);
      assert.equal(m.ignores(`deep/dir/${name}`, false), true, `deep/dir/${name} too`);
      assert.equal(bare.ignores(name, false), false, `${name} is ignored only by the default pack`);
    }
    for (const name of ['.x.swp', '4913', 'a~']) assert.equal(m.ignores(name, false), true, name);
    for (const name of ['.env', '.htaccess']) {
      assert.ok(readme.includes(`\`${name}\``), `the README names ${name}`);
      assert.equal(m.ignores(name, false), false, `${name} syncs`);
    }
  });
});

describe('user patterns', () => {
  it('supports negation', () => {
    const m = createIgnoreMatcher({ patterns: ['*.log', '!keep.log'] });
    assert.equal(m.ignores('app.log', false), true);
    assert.equal(m.ignores('keep.log', false), false);
    assert.equal(m.ignores('sub/keep.log', false), false);
    assert.equal(m.ignores('sub/app.log', false), true);
  });

  it('lets a user re-include a default', () => {
    const m = createIgnoreMatcher({ patterns: ['!.DS_Store'] });
    assert.equal(m.ignores('.DS_Store', false), false);
  });

  it('never lets a user re-include Ferry temp files', () => {
    const m = createIgnoreMatcher({ patterns: ['!.ferry-tmp-*'] });
    assert.equal(m.ignores('.ferry-tmp-1', false), true);
  });

  it('applies dir-only patterns to directories only', () => {
    const m = createIgnoreMatcher({ patterns: ['build/'] });
    assert.equal(m.ignores('build', true), true);
    assert.equal(m.ignores('build', false), false, 'a file named build is not a directory');
    assert.equal(m.ignores('pkg/build', true), true);
  });

  it('ignores paths below an ignored directory, even when negated', () => {
    const m = createIgnoreMatcher({ patterns: ['build/', 'node_modules', '!build/keep.txt'] });
    assert.equal(m.ignores('build/out/app.js', false), true);
    assert.equal(m.ignores('build/keep.txt', false), true);
    assert.equal(m.ignores('a/node_modules/x/index.js', false), true);
    assert.equal(m.ignores('a/node_modules_x/index.js', false), false);
  });

  it('anchors patterns with a leading slash to the root', () => {
    const m = createIgnoreMatcher({ patterns: ['/dist'] });
    assert.equal(m.ignores('dist', true), true);
    assert.equal(m.ignores('src/dist', true), false);
  });

  it('reads .ferryignore text with comments, blank lines and CRLF', () => {
    const m = createIgnoreMatcher({ ferryignoreText: '# comment\r\n\r\n*.tmp\r\n!important.tmp\r\ncache/\r\n' });
    assert.equal(m.ignores('a.tmp', false), true);
    assert.equal(m.ignores('important.tmp', false), false);
    assert.equal(m.ignores('x/cache', true), true);
    assert.equal(m.ignores('# comment', false), false);
  });

  it('can disable the default pack', () => {
    const m = createIgnoreMatcher({ useDefaults: false, patterns: ['*.o'] });
    assert.equal(m.ignores('.x.swp', false), false);
    assert.equal(m.ignores('.DS_Store', false), false);
    assert.equal(m.ignores('main.o', false), true);
    assert.equal(m.ignores('.ferry-tmp-9', false), true, 'Ferry temp files stay ignored');
  });
});

describe('loadFerryignore', () => {
  it('returns the file text, or an empty string when missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-ignore-'));
    try {
      assert.equal(await loadFerryignore(dir), '');
      await writeFile(join(dir, '.ferryignore'), '\uFEFF*.bak\n');
      assert.equal(await loadFerryignore(dir), '*.bak\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails with the file name when it cannot be read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-ignore-'));
    try {
      // A directory where the file should be: reading it fails with EISDIR.
      await mkdir(join(dir, '.ferryignore'));
      await assert.rejects(loadFerryignore(dir), (err: Error) => err.message.includes(join(dir, '.ferryignore')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
