import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_NAMES, commandChannel, eventChannel, isCommandName } from '../../main/ipc/contract.ts';
import { argumentSchemas, IpcValidationError, validateArgs } from '../../main/ipc/validate.ts';
import { createHandlers, dispatchCommand } from '../../main/ipc/handlers.ts';

const goodAdd = {
  localPath: '/home/u/Documents',
  host: 'example.org',
  user: 'deploy',
  port: 2222,
  auth: { kind: 'key', keyPath: '/home/u/.ssh/id_ed25519' },
  remotePath: '/srv/docs',
  mode: 'push',
  ignore: ['*.tmp'],
};

function refusal(command: Parameters<typeof validateArgs>[0], args: unknown): string {
  try {
    validateArgs(command, args);
  } catch (err) {
    assert.ok(err instanceof IpcValidationError);
    return err.message;
  }
  assert.fail(`${command} accepted ${JSON.stringify(args)}`);
}

test('every command of the contract has a schema and a channel', () => {
  assert.deepEqual(Object.keys(argumentSchemas).sort(), [...COMMAND_NAMES].sort());
  assert.equal(commandChannel('addFolder'), 'ferry:cmd:addFolder');
  assert.equal(eventChannel('folderStatus'), 'ferry:evt:folderStatus');
  assert.ok(isCommandName('pauseAll'));
  assert.ok(!isCommandName('toString'), 'inherited properties are not commands');
  assert.ok(!isCommandName(42));
});

test('well-formed arguments pass unchanged', () => {
  assert.deepEqual(validateArgs('addFolder', [goodAdd]), [goodAdd]);
  assert.deepEqual(validateArgs('listFolders', []), []);
  assert.deepEqual(validateArgs('setSettings', [{ language: 'zh-CN' }]), [{ language: 'zh-CN' }]);
  assert.deepEqual(validateArgs('markConflictResolved', ['abc', '2024-05-01T10:00:00.000Z', 'a/b.txt']), [
    'abc',
    '2024-05-01T10:00:00.000Z',
    'a/b.txt',
  ]);
});

test('malformed arguments are refused with a message naming the command, the argument and the problem', () => {
  assert.match(
    refusal('addFolder', [{ ...goodAdd, port: 70000 }]),
    /"addFolder".*argument 1 \(port\): the port must be from 1 to 65535/,
  );
  assert.match(
    refusal('addFolder', [{ ...goodAdd, remotePath: 'srv/docs' }]),
    /argument 1 \(remotePath\): the remote path must be absolute/,
  );
  assert.match(refusal('addFolder', [{ ...goodAdd, mode: 'sync' }]), /the mode must be "push", "mirror" or "upload"/);
  assert.match(refusal('addFolder', [{ ...goodAdd, auth: { kind: 'telepathy' } }]), /auth must be one of/);
  assert.match(refusal('addFolder', [{ ...goodAdd, host: '-oProxyCommand=x' }]), /host must not .* start with "-"/);
  assert.match(refusal('addFolder', [{ ...goodAdd, extra: 1 }]), /argument 1.*extra/i);
  assert.match(refusal('addFolder', [{ ...goodAdd, localPath: 'a\0b' }]), /local path contains a NUL character/);
  assert.match(refusal('pauseFolder', []), /"pauseFolder": it takes 1 argument\(s\), got 0/);
  assert.match(refusal('pauseFolder', ['id', 'extra']), /it takes 1 argument\(s\), got 2/);
  assert.match(refusal('pauseFolder', ['']), /folder id is empty/);
  assert.match(refusal('listFolders', 'not an array'), /"listFolders": its arguments must be a list/);
  assert.match(refusal('setSettings', [{ language: 'fr' }]), /the language must be "en", "zh-CN" or "system"/);
  assert.match(
    refusal('trustHostKey', [{ host: 'h', port: 22, fingerprint: 'MD5:aa' }]),
    /fingerprint must look like SHA256/,
  );
  assert.match(refusal('markConflictResolved', ['id', 'yesterday', 'a']), /argument 2: the time must be an ISO 8601/);
});

test('dispatchCommand answers errors as data and never runs a handler with bad arguments', async () => {
  let called = 0;
  const handlers = createHandlers({ pause: async () => void called++ } as never, {} as never, {
    chooseFolder: async () => null,
    openPath: async () => undefined,
    listSshAliases: () => ['alias'],
  });
  assert.deepEqual(await dispatchCommand(handlers, 'nope', []), { ok: false, error: 'Ferry has no command "nope".' });
  const bad = await dispatchCommand(handlers, 'pauseFolder', [123]);
  assert.equal(bad.ok, false);
  assert.equal(called, 0);
  assert.deepEqual(await dispatchCommand(handlers, 'pauseFolder', ['f1']), { ok: true, value: undefined });
  assert.equal(called, 1);
  assert.deepEqual(await dispatchCommand(handlers, 'listSshAliases', []), { ok: true, value: ['alias'] });
});
