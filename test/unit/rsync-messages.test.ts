/**
 * rsync's error lines about server entries read like the SFTP transport's: the operation,
 * the server's full path of the item (never rsync's temp name) and the system's reason.
 * These are the lines rsync 3.x prints (seen against the harness sshd); a line of another
 * shape is passed on as it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { itemOfMessage } from '../../main/transport/rsync-list-parser.ts';
import { phraseServerError } from '../../main/transport/rsync-messages.ts';

const at = (rel: string) => `/srv/site/${rel}`;

test('each kind of rsync line becomes "<op> <server path> failed on the server: <reason>"', () => {
  const cases: [string, string, string][] = [
    [
      'rsync: [receiver] mkstemp "/srv/site/locked/.new.txt.WZqg5z" failed: Permission denied (13)',
      'locked/new.txt',
      'open /srv/site/locked/new.txt failed on the server: Permission denied',
    ],
    [
      'rsync: [generator] delete_file: unlink(locked/old.txt) failed: Permission denied (13)',
      'locked/old.txt',
      'remove /srv/site/locked/old.txt failed on the server: Permission denied',
    ],
    [
      'rsync: [generator] keep_backup failed: "/srv/site/locked/old.txt" -> ".ferry-aside-rsync-85/locked/old.txt": Permission denied (13)',
      'locked/old.txt',
      'remove /srv/site/locked/old.txt failed on the server: Permission denied',
    ],
    [
      'rsync: [generator] delete_file: unlink(site/css/a.css) failed: Permission denied (13)',
      'site',
      'remove /srv/site/site/css/a.css failed on the server: Permission denied',
    ],
    [
      'rsync: [generator] delete_file: rmdir(site) failed: Directory not empty (39)',
      'site',
      'remove /srv/site/site failed on the server: Directory not empty',
    ],
    [
      'rsync: [generator] recv_generator: mkdir "/srv/site/a/b" failed: Permission denied (13)',
      'a/b',
      'mkdir /srv/site/a/b failed on the server: Permission denied',
    ],
    [
      'rsync: [receiver] write failed on "/srv/site/big.iso": No space left on device (28)',
      'big.iso',
      'write /srv/site/big.iso failed on the server: No space left on device',
    ],
    [
      'rsync: [receiver] rename "/srv/site/a/.b.Xy12Zq" -> "a/b": Permission denied (13)',
      'a/b',
      'rename /srv/site/a/b failed on the server: Permission denied',
    ],
  ];
  for (const [line, item, want] of cases) assert.equal(phraseServerError(line, item, at), want, line);
});

test('a line of another shape, or naming another path in parentheses, keeps its own words or its item', () => {
  const odd = 'rsync: connection unexpectedly closed (0 bytes received so far) [sender]';
  assert.equal(phraseServerError(odd, 'x', at), odd);
  assert.equal(
    phraseServerError('rsync: [generator] delete_file: unlink(other) failed: Permission denied (13)', 'mine', at),
    'remove /srv/site/mine failed on the server: Permission denied',
  );
});

test('a failed delete is its own item only, and one below a removed directory is that directory', () => {
  const paths = ['locked/old.txt', 'locked/old2.txt', 'site'];
  const line = (p: string) => `rsync: [generator] delete_file: unlink(${p}) failed: Permission denied (13)`;
  assert.equal(itemOfMessage(line('locked/old.txt'), paths), 0);
  assert.equal(itemOfMessage(line('locked/old2.txt'), paths), 1);
  assert.equal(itemOfMessage(line('site/css/a.css'), paths), 2);
  assert.equal(itemOfMessage(line('sitemap.xml'), paths), -1);
});
