import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  itemOfMessage,
  parsePerms,
  parseRecord,
  readableLine,
  unescapeRsync,
} from '../../main/transport/rsync-list-parser.ts';

// Lines below are shaped exactly like rsync 3.5's output for OUT_FORMAT (captured by hand).

test('a file record gives size, UTC mtime in whole seconds and permission bits', () => {
  const r = parseRecord('FERRY|>f+++++++++|1234|2001/02/03-04:05:06|rw-r-----|dir/a b.txt');
  assert.equal(r?.path, 'dir/a b.txt');
  assert.deepEqual(r?.entry, { kind: 'file', size: 1234, mtimeMs: Date.UTC(2001, 1, 3, 4, 5, 6), mode: 0o640 });
});

test('directory records lose their slash, and "./" is the root', () => {
  assert.deepEqual(parseRecord('FERRY|cd+++++++++|4096|2026/11/24-14:29:00|rwxrwxrwt|d/sub/')?.entry, {
    kind: 'dir',
    mode: 0o1777,
  });
  assert.equal(parseRecord('FERRY|cd+++++++++|4096|2026/11/24-14:29:00|rwxr-xr-x|d/sub/')?.path, 'd/sub');
  assert.equal(parseRecord('FERRY|cd+++++++++|4096|2026/11/24-14:29:00|rwxr-xr-x|./')?.path, '');
});

test('a symlink whose name and target both contain " -> " is split by the target length', () => {
  const target = 'target -> with arrow';
  const r = parseRecord(
    `FERRY|cL+++++++++|${Buffer.byteLength(target)}|2026/11/24-14:29:00|rwxrwxrwx|d/link -> x -> ${target}`,
  );
  assert.equal(r?.path, 'd/link -> x');
  assert.deepEqual(r?.entry, { kind: 'symlink', target });
});

test('escaped bytes decode exactly: newline, UTF-8, and a literal backslash-hash', () => {
  assert.equal(parseRecord('FERRY|>f+++++++++|1|2026/11/24-14:29:00|rw-r--r--|d/new\\#012line')?.path, 'd/new\nline');
  assert.equal(
    parseRecord('FERRY|>f+++++++++|0|2026/11/24-14:29:00|rw-r--r--|d/\\#303\\#274n\\#303\\#257')?.path,
    'd/ünï',
  );
  assert.equal(parseRecord('FERRY|>f+++++++++|0|2026/11/24-14:29:00|rw-r--r--|d/lit\\#134#123')?.path, 'd/lit\\#123');
  assert.equal(
    parseRecord('FERRY|>f+++++++++|0|2026/11/24-14:29:00|rw-r--r--|back\\slash\ttab')?.path,
    'back\\slash\ttab',
  );
});

test('non-records and names that are not UTF-8 are skipped', () => {
  assert.equal(parseRecord('created directory /tmp/x'), undefined);
  assert.equal(parseRecord('FERRY|>f+++++++++|0|2026/11/24-14:29:00|rw-r--r--|bad\\#377name'), undefined);
});

test('deletion records carry no entry', () => {
  const r = parseRecord('FERRY|*deleting  |0|1970/01/01-00:00:00|---------|rm/tree/');
  assert.equal(r?.itemize, '*deleting  ');
  assert.equal(r?.path, 'rm/tree');
  assert.equal(r?.entry, undefined);
});

test('setuid, setgid and sticky bits, with and without execute', () => {
  assert.equal(parsePerms('rwsr-xr-x'), 0o4755);
  assert.equal(parsePerms('rwSr-Sr-T'), 0o7644);
  assert.equal(parsePerms('---------'), 0);
});

test('unescapeRsync leaves incomplete escapes alone', () => {
  assert.deepEqual([...unescapeRsync('a\\#12b\\#0')], [...Buffer.from('a\\#12b\\#0')]);
});

test('rsync messages are matched to the item they are about', () => {
  const paths = ['b', 'a/b', 'x y/file "q"', 'ok'];
  assert.equal(
    itemOfMessage(
      readableLine('rsync: [receiver] write failed on "/srv/root/a/b": No space left on device (28)'),
      paths,
    ),
    1,
  );
  assert.equal(
    itemOfMessage('rsync: [receiver] mkstemp "/srv/root/x y/.file "q".Ab12Cd" failed: Permission denied (13)', paths),
    2,
  );
  assert.equal(
    itemOfMessage('rsync: [sender] link_stat "/home/me/folder/b" failed: No such file or directory (2)', paths),
    0,
  );
  assert.equal(itemOfMessage('cannot delete non-empty directory: ok', paths), 3);
  assert.equal(itemOfMessage('rsync: connection unexpectedly closed (0 bytes received so far) [sender]', paths), -1);
});

test('a receiver temp name cut to fit NAME_MAX still finds its item', () => {
  const long = 'n'.repeat(255);
  const temp = `.${'n'.repeat(247)}.aB3dE9`;
  assert.equal(
    itemOfMessage(`rsync: [receiver] mkstemp "/srv/r/d/${temp}" failed: File name too long (36)`, [
      'd/other',
      `d/${long}`,
    ]),
    1,
  );
});
