/**
 * Property-based fuzzing (fast-check) of what a user writes: the daemon config file (parsed
 * value, raw file text) and remote targets. Random and malformed input must end in a clear
 * Error naming the file and the key (never another kind of throw, never a hang), and nothing
 * accepted may break the invariants the rest of Ferry relies on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadDaemonConfig, parseDaemonConfig } from '../../main/cli/daemon-config.ts';
import { parseTarget } from '../../main/ssh/target.ts';

const FILE = '/etc/ferry/ferry.json';
const RUNS = { numRuns: 400 };

/** A config error: an Error whose message names the file and lists "  key: problem" lines. */
function assertConfigError(err: unknown): void {
  assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
  assert.ok(err.message.startsWith(`${FILE} is not a valid Ferry config:\n`), err.message);
  const lines = err.message.split('\n').slice(1);
  assert.ok(lines.length >= 1, err.message);
  for (const line of lines)
    assert.match(
      line,
      /^ {2}(\(top level\)|[A-Za-z_$][\w$]*(\[\d+\])?(\.[\w$]+(\[\d+\])?)*): \S/,
      `problem line without a key: ${JSON.stringify(line)}`,
    );
  assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace in the message');
}

const validFolder = fc.record(
  {
    local: fc.string({ minLength: 1 }),
    target: fc.string({ minLength: 1 }),
    mode: fc.constantFrom('push', 'mirror'),
    identity: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })),
    knownHosts: fc.string(),
    hostKeyPolicy: fc.constantFrom('strict', 'accept-new'),
    transport: fc.constantFrom('auto', 'sftp', 'rsync'),
    ignore: fc.array(fc.string(), { maxLength: 4 }),
    allowMassDelete: fc.boolean(),
  },
  { requiredKeys: ['local', 'target'], noNullPrototype: true },
);
const validConfig = fc.record(
  { stateDir: fc.string(), sshConfig: fc.string(), folders: fc.array(validFolder, { minLength: 1, maxLength: 4 }) },
  { requiredKeys: ['folders'], noNullPrototype: true },
);

/** A value of a type none of the config's keys accepts together with the right one. */
const wrongTyped = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.object({ maxDepth: 1 }),
  fc.array(fc.integer(), { minLength: 1 }),
  fc.boolean(),
);

test('any JSON value either parses into a config or is refused with a clear, keyed error', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.anything(), validConfig), (value) => {
      let parsed;
      try {
        parsed = parseDaemonConfig(value, FILE);
      } catch (err) {
        assertConfigError(err);
        return;
      }
      assert.ok(Array.isArray(parsed.folders) && parsed.folders.length >= 1);
      for (const f of parsed.folders)
        assert.ok(
          typeof f.local === 'string' && f.local.length > 0 && typeof f.target === 'string' && f.target.length > 0,
        );
    }),
    RUNS,
  );
});

test('valid configs are accepted as they are', () => {
  fc.assert(
    fc.property(validConfig, (config) => {
      assert.deepEqual(parseDaemonConfig(structuredClone(config), FILE), config);
    }),
    RUNS,
  );
});

test('one bad key in a valid config is refused, and the error names exactly that key', () => {
  const keys = [
    'local',
    'target',
    'mode',
    'identity',
    'knownHosts',
    'hostKeyPolicy',
    'transport',
    'ignore',
    'allowMassDelete',
  ] as const;
  fc.assert(
    fc.property(
      validConfig,
      fc.nat(),
      fc.constantFrom(...keys, 'unknownKey'),
      wrongTyped,
      (config, which, key, wrong) => {
        let bad: unknown = wrong;
        const folders = config.folders as Record<string, unknown>[];
        const i = which % folders.length;
        const folder = folders[i] as Record<string, unknown>;
        if (key === 'identity' && Array.isArray(bad)) bad = 42; // an array of strings is allowed there
        if (key === 'allowMassDelete' && typeof bad === 'boolean') bad = 'yes';
        folder[key] = bad;
        assert.throws(
          () => parseDaemonConfig(config, FILE),
          (err: Error) => {
            assertConfigError(err);
            assert.ok(err.message.includes(`folders[${i}]`), `names folders[${i}]: ${err.message}`);
            assert.ok(err.message.includes(key), `names ${key}: ${err.message}`);
            return true;
          },
        );
      },
    ),
    RUNS,
  );
});

test('random file text (not JSON, truncated JSON, JSON of the wrong shape) gives an Error naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-fuzz-config-'));
  const file = join(dir, 'ferry.json');
  let accepted = 0;
  let refused = 0;
  try {
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.json(),
      validConfig.map((c) => JSON.stringify(c)),
      validConfig.map((c) => JSON.stringify(c)).chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))),
      fc.constantFrom(
        '',
        '\uFEFF{"folders": []}',
        '{"folders": [{"local": "/a", "target": "h:/x"}]}garbage',
        'null',
        '[]',
        '{"__proto__": {"folders": 1}}',
        '{"folders": [{"local": "/a", "target": "h:/x", "constructor": {}}]}',
      ),
    );
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        writeFileSync(file, t);
        // Only the load is inside the try: an assertion about an accepted config must fail
        // the property, not pass for a config error.
        let loaded: Awaited<ReturnType<typeof loadDaemonConfig>> | undefined;
        let thrown: unknown;
        try {
          loaded = await loadDaemonConfig(file);
        } catch (err) {
          thrown = err ?? new Error('threw a nullish value');
        }
        if (loaded) {
          accepted++;
          assert.ok(loaded.folders.length >= 1);
          for (const f of loaded.folders)
            assert.ok(f.local.startsWith('/'), 'local paths are resolved against the config file');
        } else {
          refused++;
          assert.ok(thrown instanceof Error, `threw a non-Error: ${String(thrown)}`);
          assert.ok(thrown.message.includes(file), `the message names the file: ${thrown.message}`);
          assert.doesNotMatch(thrown.message, /\n\s+at /);
        }
      }),
      { numRuns: 300 },
    );
    // Both branches ran: the generators reach valid configs as well as broken text.
    assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
    await assert.rejects(loadDaemonConfig(join(dir, 'missing.json')), /Cannot read the config file .*missing\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a parsed target never has a ".." segment, a relative path, a NUL, or a host or user starting with "-"', () => {
  const piece = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.constantFrom(
      '..',
      '.',
      '/',
      '//',
      '-',
      '-oProxyCommand=x',
      '@',
      ':',
      '[',
      ']',
      '::1',
      'ssh://',
      '%2e%2e',
      '\0',
      ' ',
      '\n',
      'host',
      'user@',
      ':22',
      '/srv',
      '/../',
      '$(x)',
    ),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
      const spec = parts.join('');
      let t;
      try {
        t = parseTarget(spec);
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.match(err.message, /^Remote target ".*" is not valid: /s);
        return;
      }
      assert.ok(t.path.startsWith('/'), t.path);
      assert.ok(!t.path.split('/').includes('..'), `".." kept in ${t.path}`);
      assert.ok(!t.path.includes('\0') && !t.host.includes('\0'));
      assert.ok(t.host.length > 0 && !t.host.startsWith('-'), `host ${t.host}`);
      assert.ok(t.user === undefined || (t.user.length > 0 && !t.user.startsWith('-')), `user ${t.user}`);
      assert.ok(!/\s/.test(t.host), `whitespace in host ${JSON.stringify(t.host)}`);
      assert.ok(t.port === undefined || (Number.isInteger(t.port) && t.port >= 1 && t.port <= 65535));
    }),
    { numRuns: 2000 },
  );
});

test('targets with ".." anywhere in the path are refused, whatever the form', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('host:', 'u@host:', 'ssh://host', 'ssh://u@host:2222', '[::1]:'),
      fc.array(fc.constantFrom('a', 'srv', 'x y', '.', ''), { maxLength: 4 }),
      fc.array(fc.constantFrom('a', 'b', '.', ''), { maxLength: 4 }),
      (prefix, before, after) => {
        const path = `/${[...before, '..', ...after].join('/')}`;
        assert.throws(
          () => parseTarget(`${prefix}${path}`),
          /is not valid: .*(contains a "\.\." segment|looks like a URL)/,
        );
      },
    ),
    RUNS,
  );
});
