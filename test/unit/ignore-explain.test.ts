import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createIgnoreMatcher,
  DEFAULT_IGNORES,
  ORIGIN_DEFAULTS,
  ORIGIN_PATTERNS,
  ORIGIN_TEMP,
} from '../../main/engine/ignore.ts';

const ferryignore = ['# build output', '', 'build/', '*.tmp', '!keep.tmp', 'docs/*.pdf'].join('\r\n');
const m = createIgnoreMatcher({ patterns: ['*.log', 'node_modules/'], ferryignoreText: ferryignore });

test('explain names the deciding rule and where it was written', () => {
  const cases: [string, boolean, { rule: string; origin: string } | undefined][] = [
    ['a.log', false, { rule: '*.log', origin: ORIGIN_PATTERNS }],
    ['node_modules', true, { rule: 'node_modules/', origin: ORIGIN_PATTERNS }],
    ['node_modules/x/index.js', false, { rule: 'node_modules/', origin: ORIGIN_PATTERNS }],
    ['build', true, { rule: 'build/', origin: '.ferryignore:3' }],
    ['src/build/out.js', false, { rule: 'build/', origin: '.ferryignore:3' }],
    ['x.tmp', false, { rule: '*.tmp', origin: '.ferryignore:4' }],
    ['keep.tmp', false, undefined],
    ['docs/a.pdf', false, { rule: 'docs/*.pdf', origin: '.ferryignore:6' }],
    ['.DS_Store', false, { rule: '.DS_Store', origin: ORIGIN_DEFAULTS }],
    ['src/.main.ts.swp', false, { rule: '.*.swp', origin: ORIGIN_DEFAULTS }],
    ['sub/.ferry-tmp-1-abc', false, { rule: '.ferry-tmp-*', origin: ORIGIN_TEMP }],
    ['build', false, undefined], // a file named build: the rule is for directories
    ['README.md', false, undefined],
    ['', true, undefined],
  ];
  for (const [path, isDir, want] of cases) assert.deepEqual(m.explain(path, isDir), want, `${path} (dir: ${isDir})`);
});

test('a later rule wins, as in gitignore: a re-included default has no explanation', () => {
  const re = createIgnoreMatcher({ patterns: ['!.DS_Store'] });
  assert.equal(re.ignores('.DS_Store', false), false);
  assert.equal(re.explain('.DS_Store', false), undefined);
  const over = createIgnoreMatcher({ patterns: ['*.swp'] });
  assert.deepEqual(over.explain('.a.swp', false), { rule: '*.swp', origin: ORIGIN_PATTERNS });
});

test('explain answers exactly when ignores says ignored', () => {
  const seg = fc.constantFrom(
    'a',
    'build',
    'x.log',
    'keep.tmp',
    'y.tmp',
    '.DS_Store',
    'docs',
    'b.pdf',
    '4913',
    'node_modules',
  );
  fc.assert(
    fc.property(fc.array(seg, { minLength: 1, maxLength: 4 }), fc.boolean(), (parts, isDir) => {
      const p = parts.join('/');
      const e = m.explain(p, isDir);
      assert.equal(e !== undefined, m.ignores(p, isDir), p);
      if (e) assert.ok(e.rule.length > 0 && e.origin.length > 0);
    }),
  );
  assert.ok(DEFAULT_IGNORES.length > 0);
});
