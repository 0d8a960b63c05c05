/**
 * Targets on one server share its SSH connection (connection-pool.ts), against a real
 * OpenSSH server: at most TARGETS_PER_CONNECTION targets per connection, each with its own
 * SFTP channel and state; a server that allows one session per connection gives every
 * further target a connection of its own (SFTP still, never the rsync fallback); a target
 * that drops its transports after an error makes the next open connect afresh.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { folderConfigFrom } from '../../main/engine/folder-options.ts';
import { connectSsh, openSftp } from '../../main/ssh/connect.ts';
import { ConnectionPool, TARGETS_PER_CONNECTION } from '../../main/transport/connection-pool.ts';
import { startSshd, type TestSshd } from '../harness/sshd.ts';
import { diffTrees, readTree, targetOf, tempDir, writeTree } from '../harness/trees.ts';

let open: TestSshd;
let strict: TestSshd;
const dirs: string[] = [];
before(async () => {
  open = await startSshd();
  // Match blocks may lower MaxSessions below the harness's 20 (the first value outside one wins).
  strict = await startSshd({ extraConfig: ['Match all', 'MaxSessions 1'] });
});
after(async () => {
  await open?.dispose();
  await strict?.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(name: string): string {
  const d = tempDir(name);
  dirs.push(d);
  return d;
}

async function folderTo(sshd: TestSshd, name: string, targets: number) {
  const local = dir(`${name}-local`);
  writeTree(local, { 'index.html': 'hi', 'css/site.css': 'body{}' });
  const remotes = Array.from({ length: targets }, (_, i) => join(sshd.remoteRoot, `${name}-${i}`));
  const [first, ...more] = remotes.map((r) => targetOf(sshd, r));
  const config = await folderConfigFrom({
    local,
    target: first!,
    moreTargets: more.map((target) => ({ target })),
    identity: [sshd.clientKeyPath],
    knownHosts: sshd.knownHostsPath,
    sshConfig: '/dev/null',
    stateDir: dir(`${name}-state`),
  });
  return { local, remotes, config };
}

describe('one connection per server', () => {
  test('five targets on one server use two connections and all converge', async () => {
    const f = await folderTo(open, 'pool', 5);
    const pool = new ConnectionPool();
    const sync = new FolderSync(f.config, { openTransports: pool.open });
    const summary = await sync.runOnce();
    assert.equal(summary.inSync, true, JSON.stringify(summary));
    assert.equal(pool.connections, Math.ceil(5 / TARGETS_PER_CONNECTION));
    for (const r of f.remotes) assert.deepEqual(diffTrees(readTree(f.local), readTree(r)), []);
    assert.ok(
      sync.status().targets?.every((t) => t.transport === 'sftp'),
      JSON.stringify(sync.status().targets),
    );
  });

  test('a server allowing one session per connection gives each further target its own, over SFTP', async () => {
    const f = await folderTo(strict, 'single', 3);
    // The server does refuse a second channel on one connection.
    const client = await connectSsh(f.config.endpoint);
    try {
      await openSftp(client);
      // The channel itself is refused (MaxSessions), not the SFTP subsystem (that would be
      // "Unable to start subsystem: sftp" inside the same wrapper).
      await assert.rejects(openSftp(client), {
        message:
          /^The server refused to start SFTP: \(SSH\) Channel open failure: open failed\. It allows no further session on this connection \(OpenSSH MaxSessions\)\.$/,
      });
    } finally {
      client.end();
    }
    const pool = new ConnectionPool();
    const sync = new FolderSync(f.config, { openTransports: pool.open });
    const summary = await sync.runOnce();
    assert.equal(summary.inSync, true, JSON.stringify(summary));
    for (const r of f.remotes) assert.deepEqual(diffTrees(readTree(f.local), readTree(r)), []);
    assert.ok(
      sync.status().targets?.every((t) => t.transport === 'sftp'),
      `no rsync fallback: ${JSON.stringify(sync.status().targets?.map((t) => t.transport))}`,
    );
  });

  test('transports dropped after an error retire the connection; the others keep theirs', async () => {
    const f = await folderTo(open, 'retire', 2);
    const pool = new ConnectionPool();
    const [a, b] = [f.config.endpoint, { ...f.config.endpoint, remoteRoot: f.remotes[1]! }];
    const ta = await pool.open(a, f.local, 'sftp');
    const tb = await pool.open(b, f.local, 'sftp');
    assert.equal(pool.connections, 1);
    await ta.close({ failed: true });
    // b still works on the shared connection...
    assert.ok((await tb.main.scan([''])).entries instanceof Map);
    // ...and a reopened a gets a new one.
    const again = await pool.open(a, f.local, 'sftp');
    assert.equal(pool.connections, 2);
    await again.close();
    await tb.close();
  });
});
