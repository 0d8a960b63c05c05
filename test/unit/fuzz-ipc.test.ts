/**
 * Property-based fuzzing (fast-check) of the IPC boundary: random and malformed arguments
 * for every command go through dispatchCommand, the one entry point the Electron main
 * process and the Chromium tests use, with the real handlers over a FolderManager on temp
 * directories. Each call must settle (no hang) with an IpcResult (no throw), a refusal must
 * be a sentence that names the command (no stack trace), and nothing a refused call carried
 * may have changed the app's state.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConnectionService } from '../../main/app-core/connection.ts';
import { FolderManager } from '../../main/app-core/folder-manager.ts';
import { JsonFileSettingsStore, MemorySecretStore } from '../../main/app-core/settings-store.ts';
import { COMMAND_NAMES, type CommandName, type IpcResult } from '../../main/ipc/contract.ts';
import { createHandlers, dispatchCommand } from '../../main/ipc/handlers.ts';
import { freePort } from '../harness/sshd.ts';

let tmp: string;
let manager: FolderManager;
let handlers: ReturnType<typeof createHandlers>;
let closedPort: number;
const opened: string[] = [];

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ferry-fuzz-ipc-'));
  mkdirSync(join(tmp, 'a-folder'));
  writeFileSync(join(tmp, 'a-file'), 'not a folder');
  closedPort = await freePort(); // nothing listens there: connections are refused at once
  const knownHostsPath = join(tmp, 'known_hosts');
  manager = await FolderManager.open({
    store: new JsonFileSettingsStore(join(tmp, 'settings.json')),
    secrets: new MemorySecretStore(),
    stateRoot: join(tmp, 'state'),
    knownHostsPath,
    sshConfigPath: join(tmp, 'no-ssh-config'),
    pollIntervalMs: 5_000,
  });
  handlers = createHandlers(
    manager,
    new ConnectionService({ knownHostsPath, sshConfigPath: null, connectTimeoutMs: 5_000 }),
    {
      chooseFolder: async () => null,
      openPath: async (p) => void opened.push(p),
      listSshAliases: () => ['alias-one'],
    },
  );
});

after(async () => {
  await manager?.stopAll();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** dispatchCommand, which must settle within `ms` and never reject. */
async function call(name: unknown, args: unknown, ms = 20_000): Promise<IpcResult<unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${String(name)} did not answer within ${ms} ms (args ${safeJson(args)})`)),
      ms,
    );
  });
  try {
    return await Promise.race([dispatchCommand(handlers, name, args), hang]);
  } finally {
    clearTimeout(timer);
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 300) ?? String(v);
  } catch {
    return String(v);
  }
}

function assertClearRefusal(r: IpcResult<unknown>, name: string, args: unknown): void {
  assert.equal(r.ok, false, `${name} accepted ${safeJson(args)}`);
  if (r.ok) return;
  assert.ok(r.error.startsWith(`Ferry refused the request "${name}": `), r.error);
  assertSentence(r.error);
}

/** An error a person can read: some words, no stack trace, no "[object Object]". */
function assertSentence(message: string): void {
  assert.ok(typeof message === 'string' && message.trim().length > 10, JSON.stringify(message));
  assert.doesNotMatch(message, /\n\s+at \S+ \(|\[object Object\]/, message);
}

/** A valid argument tuple for each command, with values that do nothing harmful when run. */
function templates(): Record<CommandName, unknown[]> {
  const conn = {
    host: '127.0.0.1',
    port: closedPort,
    auth: { kind: 'password', password: 'not-a-real-password' },
    remotePath: '/srv/fuzz',
  };
  return {
    listFolders: [],
    inspectLocalPath: [join(tmp, 'missing')],
    chooseLocalFolder: [],
    addFolder: [{ ...conn, localPath: join(tmp, 'missing'), mode: 'push', ignore: ['*.log'] }],
    previewFolder: [{ ...conn, localPath: join(tmp, 'missing'), mode: 'push', ignore: ['*.log'] }],
    updateFolder: ['no-such-folder', { ...conn, mode: 'push', ignore: ['*.log'] }],
    ignorePath: ['no-such-folder', 'a.txt'],
    syncNow: ['no-such-folder'],
    openFolder: ['no-such-folder'],
    whyPath: ['no-such-folder', 'a.txt'],
    pauseFolderUntil: ['no-such-folder', new Date(Date.now() + 3600_000).toISOString()],
    removeFolder: ['no-such-folder'],
    pauseFolder: ['no-such-folder'],
    resumeFolder: ['no-such-folder'],
    pauseAll: [],
    resumeAll: [],
    retryFailed: ['no-such-folder'],
    retryPath: ['no-such-folder', 'a.txt'],
    addTarget: ['no-such-folder', conn],
    removeTarget: ['no-such-folder', 'ssh://web2.example/srv/fuzz'],
    pauseTarget: ['no-such-folder', 'ssh://web2.example/srv/fuzz'],
    resumeTarget: ['no-such-folder', 'ssh://web2.example/srv/fuzz'],
    setTargetCommands: ['no-such-folder', 'ssh://web2.example/srv/fuzz', { remoteAfterSync: 'true' }],
    listTrash: ['no-such-folder'],
    restoreFromTrash: ['no-such-folder', 'a.txt', '20240506-070809'],
    confirmMassDelete: ['no-such-folder'],
    cancelMassDelete: ['no-such-folder'],
    provideSecret: ['no-such-folder', 'a password'],
    getConflicts: ['no-such-folder'],
    markConflictResolved: ['no-such-folder', '2024-05-06T07:08:09Z', 'a.txt'],
    openLocalFile: ['no-such-folder', 'a.txt'],
    testConnection: [conn],
    trustHostKey: [{ host: '127.0.0.1', port: closedPort, fingerprint: `SHA256:${'A'.repeat(43)}` }],
    listSshAliases: [],
    browseRemote: [conn],
    makeRemoteDir: [conn],
    getSettings: [],
    setSettings: [{ language: 'en' }],
    listLoginPrompts: [],
    answerLoginPrompt: [NO_SUCH_PROMPT, ['123456']],
  };
}

/** A well-formed login prompt id that is not pending. */
const NO_SUCH_PROMPT = '0b9e2c53-7d4e-4c1a-9f55-2f1d7e6a3b10';

const notString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
/** Answers to a login prompt the schema refuses (null, the cancel, is valid). */
const badAnswers = fc.oneof(
  notString.filter((v) => v !== null && !(Array.isArray(v) && v.length > 0)),
  fc.constant([]),
  fc.constant(Array.from({ length: 17 }, () => '1')),
  fc.constant(['x'.repeat(1025)]),
  fc.array(fc.oneof(fc.integer(), fc.constant(null)), { minLength: 1, maxLength: 3 }),
);
const badText = (max: number) =>
  fc.oneof(
    notString,
    fc.constant(''),
    fc.string().map((s) => `${s}\0${s}`),
    fc.constant('x'.repeat(max + 1)),
  );

/** For each field of each object argument: values that field must refuse. */
const badField: Record<string, fc.Arbitrary<unknown>> = {
  host: fc.oneof(badText(255), fc.constantFrom('-oProxyCommand=touch x', 'has space', 'tab\there')),
  user: fc.oneof(badText(255), fc.constantFrom('-l', 'a b', 'a:b', 'a/b')),
  port: fc.oneof(
    fc.string(),
    fc.constant(null),
    fc.boolean(),
    fc.constantFrom(0, -1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY),
  ),
  remotePath: fc.oneof(badText(4096), fc.constantFrom('relative/path', '~/x', '..')),
  localPath: badText(4096),
  mode: fc.oneof(
    notString,
    fc.string().filter((s) => s !== 'push' && s !== 'mirror'),
  ),
  ignore: fc.oneof(
    fc.string(),
    fc.constant(null),
    fc.array(fc.oneof(fc.integer(), fc.constant(''), fc.constant('a\0b')), { minLength: 1, maxLength: 3 }),
    fc.constant(Array.from({ length: 1001 }, () => 'x')),
  ),
  auth: fc.oneof(
    notString,
    fc.string(),
    fc
      .string()
      .filter((k) => !['agent', 'key', 'password'].includes(k))
      .map((kind) => ({ kind })),
    fc.constantFrom(
      { kind: 'key' },
      { kind: 'password' },
      { kind: 'agent', extra: 1 },
      { kind: 'password', password: 5 },
      { kind: 'key', keyPath: '' },
      { kind: 'password', password: 'x'.repeat(1025) },
    ),
  ),
  fingerprint: fc.oneof(
    notString,
    fc.string().filter((s) => !/^SHA256:[A-Za-z0-9+/]{43}$/.test(s)),
    fc.constant(`MD5:${'a'.repeat(43)}`),
  ),
  language: fc.oneof(
    notString,
    fc.string().filter((s) => !['en', 'zh-CN', 'system'].includes(s)),
  ),
  openAtLogin: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
};

/** Required keys of each object argument (dropping one must be refused). */
const REQUIRED: Record<string, string[]> = {
  addFolder: ['host', 'auth', 'remotePath', 'localPath', 'mode', 'ignore'],
  testConnection: ['host', 'auth', 'remotePath'],
  browseRemote: ['host', 'auth', 'remotePath'],
  makeRemoteDir: ['host', 'auth', 'remotePath'],
  trustHostKey: ['host', 'port', 'fingerprint'],
  setSettings: [],
};

/** Values a string argument (folder id, time, path) must refuse. */
function badStringArg(name: CommandName, index: number): fc.Arbitrary<unknown> {
  if (name === 'markConflictResolved' && index === 1)
    return fc.oneof(notString, fc.constantFrom('', 'yesterday', '2024-13-01T00:00:00Z', '2024-05-06'));
  if (name === 'provideSecret' && index === 1) return badText(1024);
  const isId = index === 0 && name !== 'inspectLocalPath';
  return badText(isId ? 64 : 4096);
}

/** A malformed argument list for `name`: one mutation of its valid template that the schema must refuse. */
function malformed(name: CommandName): fc.Arbitrary<unknown> {
  const base = templates()[name];
  const options: fc.Arbitrary<unknown>[] = [
    fc.anything().filter((a) => !Array.isArray(a)),
    fc.anything().map((extra) => [...base, extra]),
  ];
  if (base.length > 0) options.push(fc.constant(base.slice(0, -1)));
  base.forEach((arg, i) => {
    const withArg = (v: unknown) => base.map((a, j) => (j === i ? v : a));
    if (name === 'answerLoginPrompt' && i === 1) {
      options.push(badAnswers.map(withArg));
      return;
    }
    if (typeof arg === 'string') {
      options.push(badStringArg(name, i).map(withArg));
      return;
    }
    const obj = arg as Record<string, unknown>;
    options.push(notString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map(withArg));
    options.push(
      fc
        .string({ minLength: 1 })
        .filter((k) => !(k in obj) && k !== '__proto__')
        .map((k) => withArg({ ...obj, [k]: 1 })),
    );
    for (const key of REQUIRED[name] ?? []) {
      const { [key]: _dropped, ...rest } = obj;
      options.push(fc.constant(withArg(rest)));
    }
    const fields = Object.keys(obj).filter((k) => badField[k]);
    for (const key of fields)
      options.push((badField[key] as fc.Arbitrary<unknown>).map((v) => withArg({ ...obj, [key]: v })));
  });
  return fc.oneof(...options);
}

describe('IPC fuzzing through dispatchCommand', () => {
  test("every valid template passes validation and gets exactly its handler's answer", async () => {
    // What each template must get: the handler's value, or the handler's own error about the
    // missing folder or closed port. A schema refusal ("Ferry refused the request") of a
    // valid call fails, and so would a handler that stopped doing its job.
    const port = String(closedPort);
    const noFolder = /^No folder with id no-such-folder; it may have been removed\. Reload the folder list\.$/;
    const expected: Record<CommandName, { value: unknown } | RegExp> = {
      listFolders: { value: [] },
      inspectLocalPath: { value: { path: join(tmp, 'missing'), kind: 'missing' } },
      chooseLocalFolder: { value: null },
      addFolder: new RegExp(`^${join(tmp, 'missing')} does not exist\\. Drop or choose an existing folder\\.$`),
      previewFolder: new RegExp(`^${join(tmp, 'missing')} is not a folder Ferry can sync\\.$`),
      updateFolder: noFolder,
      ignorePath: noFolder,
      syncNow: noFolder,
      openFolder: noFolder,
      whyPath: noFolder,
      pauseFolderUntil: noFolder,
      removeFolder: noFolder,
      pauseFolder: noFolder,
      resumeFolder: noFolder,
      pauseAll: { value: undefined },
      resumeAll: { value: undefined },
      retryFailed: noFolder,
      retryPath: noFolder,
      addTarget: noFolder,
      removeTarget: noFolder,
      pauseTarget: noFolder,
      resumeTarget: noFolder,
      setTargetCommands: noFolder,
      listTrash: noFolder,
      restoreFromTrash: noFolder,
      confirmMassDelete: noFolder,
      cancelMassDelete: noFolder,
      provideSecret: noFolder,
      getConflicts: noFolder,
      markConflictResolved: noFolder,
      openLocalFile: noFolder,
      testConnection: {
        value: {
          outcome: 'failed',
          message: `Could not reach 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}. Check the host name and port, and that sshd runs there.`,
        },
      },
      trustHostKey: new RegExp(`^The host key of 127\\.0\\.0\\.1:${port} was not the one shown \\(SHA256:A{43}\\)`),
      listSshAliases: { value: ['alias-one'] },
      browseRemote: new RegExp(`^Could not connect to 127\\.0\\.0\\.1:${port}: connection refused\\.`),
      makeRemoteDir: new RegExp(`^Could not connect to 127\\.0\\.0\\.1:${port}: connection refused\\.`),
      getSettings: { value: { language: 'system', openAtLogin: false } },
      setSettings: { value: { language: 'en', openAtLogin: false } },
      listLoginPrompts: { value: [] },
      answerLoginPrompt:
        /^Ferry is no longer waiting for that answer: the login was answered, cancelled or given up already\.$/,
    };
    for (const [name, args] of Object.entries(templates()) as [CommandName, unknown[]][]) {
      const r = await call(name, args);
      const want = expected[name];
      if (want instanceof RegExp) {
        assert.equal(r.ok, false, `${name}: ${safeJson(r)}`);
        if (!r.ok) {
          assert.doesNotMatch(r.error, /^Ferry refused the request/, `${name}: a valid call was refused`);
          assert.match(r.error, want, name);
          assertSentence(r.error);
        }
      } else assert.deepEqual(r, { ok: true, value: want.value }, name);
    }
  });

  test('valid calls with random valid arguments succeed', async () => {
    const kinds: Record<string, string> = { 'a-folder': 'dir', 'a-file': 'file', missing: 'missing' };
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { language: fc.constantFrom('en', 'zh-CN', 'system'), openAtLogin: fc.boolean() },
          { noNullPrototype: true },
        ),
        fc.constantFrom('a-folder', 'a-file', 'missing'),
        async (settings, entry) => {
          const set = await call('setSettings', [settings]);
          assert.deepEqual(set, { ok: true, value: settings }, safeJson(settings));
          assert.deepEqual(await call('getSettings', []), { ok: true, value: settings });
          const path = join(tmp, entry);
          assert.deepEqual(await call('inspectLocalPath', [path]), { ok: true, value: { path, kind: kinds[entry] } });
          for (const name of ['pauseAll', 'resumeAll'] as const)
            assert.deepEqual(await call(name, []), { ok: true, value: undefined });
          assert.deepEqual(await call('listFolders', []), { ok: true, value: [] });
        },
      ),
      { numRuns: 50 },
    );
    assert.deepEqual(await call('setSettings', [{ language: 'en', openAtLogin: false }]), {
      ok: true,
      value: { language: 'en', openAtLogin: false },
    });
  });

  test('malformed arguments for every command are refused with a message naming the command', async () => {
    for (const name of COMMAND_NAMES) {
      await fc.assert(
        fc.asyncProperty(malformed(name), async (args) => assertClearRefusal(await call(name, args), name, args)),
        { numRuns: 60 },
      );
    }
  });

  test('random values as the argument list of every command: an IpcResult, never a throw or a hang', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...COMMAND_NAMES),
        fc.oneof(fc.anything(), fc.array(fc.anything(), { maxLength: 4 }), fc.jsonValue()),
        async (name, args) => {
          const r = await call(name, args);
          assert.equal(typeof r.ok, 'boolean');
          if (!r.ok) assertSentence(r.error);
        },
      ),
      { numRuns: 600 },
    );
  });

  test('unknown command names, including prototype keys, are refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.string(),
          fc.constantFrom(
            '__proto__',
            'constructor',
            'toString',
            'hasOwnProperty',
            'valueOf',
            'listFolders ',
            'ListFolders',
            '',
          ),
        ),
        async (name) => {
          fc.pre(!(COMMAND_NAMES as unknown[]).includes(name));
          const r = await call(name, []);
          assert.equal(r.ok, false);
          if (!r.ok) assert.match(r.error, /^Ferry has no command /);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('well-formed calls about folders that do not exist answer "no folder", whatever the id', async () => {
    const byId = [
      'removeFolder',
      'pauseFolder',
      'resumeFolder',
      'retryFailed',
      'listTrash',
      'confirmMassDelete',
      'cancelMassDelete',
      'getConflicts',
    ] as const;
    const id = fc.string({ minLength: 1, maxLength: 64 }).filter((s) => !s.includes('\0'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...byId, 'markConflictResolved', 'openLocalFile'),
        id,
        fc.string({ minLength: 1, maxLength: 200 }).filter((s) => !s.includes('\0')),
        async (name, folderId, path) => {
          const args =
            name === 'markConflictResolved'
              ? [folderId, '2024-05-06T07:08:09Z', path]
              : name === 'openLocalFile'
                ? [folderId, path]
                : [folderId];
          const r = await call(name, args);
          assert.equal(r.ok, false, `${name}(${safeJson(args)}) succeeded`);
          if (!r.ok) assert.match(r.error, /^No folder with id /);
        },
      ),
      { numRuns: 300 },
    );
    assert.deepEqual(opened, [], 'no file was opened');
  });

  test('well-formed connection requests to a closed port fail fast with a sentence (no hang)', async () => {
    const req = fc.record({
      host: fc.constant('127.0.0.1'),
      user: fc.stringMatching(/^[a-z_][a-z0-9_.]{0,15}$/),
      port: fc.constant(closedPort),
      auth: fc.oneof(
        fc.constant({ kind: 'agent' as const }),
        fc.record({ kind: fc.constant('password' as const), password: fc.string({ maxLength: 50 }) }),
        fc.record({
          kind: fc.constant('key' as const),
          keyPath: fc.constantFrom(join(tmp, 'missing-key'), join(tmp, 'a-file')),
          passphrase: fc.string({ maxLength: 20 }),
        }),
      ),
      remotePath: fc.array(fc.stringMatching(/^[^/\0]{1,12}$/), { maxLength: 3 }).map((segs) => `/${segs.join('/')}`),
    });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('testConnection', 'browseRemote', 'makeRemoteDir'), req, async (name, r) => {
        const res = await call(name, [r]);
        if (res.ok) {
          assert.equal(name, 'testConnection');
          const v = res.value as { outcome: string; message?: string };
          assert.equal(v.outcome, 'failed', safeJson(v));
          assertSentence(v.message ?? '');
        } else assertSentence(res.error);
      }),
      { numRuns: 25 },
    );
  });

  test('after all that, the app state is untouched: no folder added, settings still valid JSON', async () => {
    const list = await call('listFolders', []);
    assert.deepEqual(list, { ok: true, value: [] });
    const settings = JSON.parse(readFileSync(join(tmp, 'settings.json'), 'utf8')) as { folders?: unknown[] };
    assert.deepEqual(settings.folders ?? [], []);
    const s = await call('getSettings', []);
    assert.ok(s.ok);
  });
});
