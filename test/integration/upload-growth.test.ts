/**
 * A file that grows while it is being uploaded, on both transports against the real sshd:
 * the transport reports `changedDuringUpload`, the engine rescans the file (and sends it
 * again when the server does not hold the final content yet), and the server ends with the
 * final content.
 *
 * The growth is made deterministic by a hook inside the transport's window rather than by
 * racing a large file: over SFTP the upload limiter (awaited before each WRITE, after the
 * local file was opened and read), over rsync the runner's `beforeRun` (after the files
 * were stat'ed, right before the rsync process that sends them starts). FolderSync takes a
 * transport opener that builds the real transports with those hooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderSync } from '../../main/engine/folder-loop.ts';
import { folderConfigFrom } from '../../main/engine/folder-options.ts';
import { openTransports, type TransportOpener } from '../../main/transport/open-transport.ts';
import { createRsyncTransport } from '../../main/transport/rsync-transport.ts';
import { SftpTransport } from '../../main/transport/sftp-transport.ts';
import type { RemoteTransport, UploadResult } from '../../main/transport/transport.ts';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { diffTrees, readTree, targetOf, writeTree } from '../harness/trees.ts';

const fx = sshdForFile();

const ORIGINAL = 'the first words of a log file\n';
const APPENDED = 'a line appended while the upload ran\n';

interface Seen {
  uploads: UploadResult[];
  /** The scopes of every scan. */
  scans: string[][];
}

/** Records the transport's upload results and scans (in place: the engine calls the same object). */
function record(t: RemoteTransport, seen: Seen): RemoteTransport {
  const upload = t.upload.bind(t);
  const scan = t.scan.bind(t);
  t.upload = async (items, onProgress, onItem) => {
    const results = await upload(items, onProgress, onItem);
    seen.uploads.push(...results);
    return results;
  };
  t.scan = async (scopes) => {
    seen.scans.push([...scopes]);
    return scan(scopes);
  };
  return t;
}

async function folderFor(name: string, transport: 'sftp' | 'rsync') {
  const local = fx.scope.dir(`${name}-local`);
  const remote = join(fx.sshd.remoteRoot, name);
  writeTree(local, { 'log.txt': ORIGINAL });
  const config = await folderConfigFrom({
    local,
    target: targetOf(fx.sshd, remote),
    transport,
    identity: [fx.sshd.clientKeyPath],
    knownHosts: fx.sshd.knownHostsPath,
    sshConfig: '/dev/null',
    stateDir: fx.scope.dir(`${name}-state`),
  });
  return { local, remote, config, grow: () => appendFileSync(join(local, 'log.txt'), APPENDED) };
}

/**
 * What every growth test checks once runOnce has returned: the first upload was flagged, a
 * second pass looked again, and the server holds the final content. `resent`: whether that
 * pass had to send the file again (SFTP sent what it read before the growth; rsync started
 * after it and sent the grown file, which the rescan finds already on the server).
 */
function assertRescanned(
  seen: Seen,
  summary: { inSync: boolean; uploaded: number },
  f: { local: string; remote: string },
  grew: number,
  resent: boolean,
): void {
  assert.equal(grew, 1, 'the hook grew the file exactly once, inside an upload');
  assert.deepEqual(
    seen.uploads.map((r) => [r.path, r.error, r.changedDuringUpload === true]),
    [['log.txt', undefined, true], ...(resent ? [['log.txt', undefined, false]] : [])],
  );
  assert.equal(seen.uploads[0]?.uploaded?.size, ORIGINAL.length, 'the first upload records the size it was given');
  if (resent) assert.equal(seen.uploads[1]?.uploaded?.size, ORIGINAL.length + APPENDED.length);
  // The first full pass, and the rescan of the changed file (its parent, the root, is rescanned too).
  assert.equal(seen.scans.length, 2, JSON.stringify(seen.scans));
  assert.deepEqual({ inSync: summary.inSync, uploaded: summary.uploaded }, { inSync: true, uploaded: resent ? 2 : 1 });
  assert.equal(readFileSync(join(f.remote, 'log.txt'), 'utf8'), ORIGINAL + APPENDED);
  assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
}

/** A later run, with plain transports, finds nothing to do: the index holds the final state. */
async function assertSettled(config: Awaited<ReturnType<typeof folderFor>>['config']): Promise<void> {
  const again = await new FolderSync(config).runOnce();
  assert.deepEqual({ inSync: again.inSync, uploaded: again.uploaded }, { inSync: true, uploaded: 0 });
}

test('SFTP: a file that grows during its upload is flagged, rescanned and sent again', async () => {
  const f = await folderFor('grow-sftp', 'sftp');
  const seen: Seen = { uploads: [], scans: [] };
  let grew = 0;
  const opener: TransportOpener = async (endpoint, localRoot, choice, opts) => {
    const real = await openTransports(endpoint, localRoot, choice, opts);
    assert.ok(real.main instanceof SftpTransport);
    // The same session and root, with a limiter that appends to the file before the first WRITE.
    const main = new SftpTransport(real.main.session, real.main.root, async () => undefined, {
      limiter: {
        take: async () => {
          if (grew === 0) (f.grow(), grew++);
        },
      },
    });
    return { main: record(main, seen), closed: real.closed, close: () => real.close() };
  };
  const summary = await new FolderSync(f.config, { openTransports: opener }).runOnce();
  assertRescanned(seen, summary, f, grew, true);
  await assertSettled(f.config);
});

test('rsync: a file that grows during its upload is flagged and rescanned; the server has its final content', async () => {
  const f = await folderFor('grow-rsync', 'rsync');
  const seen: Seen = { uploads: [], scans: [] };
  let grew = 0;
  const opener: TransportOpener = async (endpoint, localRoot) => {
    const main = createRsyncTransport(endpoint, localRoot, {
      // Push runs carry --ignore-times (rsync-upload.ts); listings do not.
      beforeRun: (args) => {
        if (grew === 0 && args.includes('--ignore-times')) (f.grow(), grew++);
      },
    });
    return {
      main: record(main, seen),
      closed: new Promise<undefined>(() => undefined),
      close: () => main.close(),
    };
  };
  const summary = await new FolderSync(f.config, { openTransports: opener }).runOnce();
  assertRescanned(seen, summary, f, grew, false);
  await assertSettled(f.config);
});
