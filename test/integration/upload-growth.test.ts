/**
 * A file that changes after its scan, on both transports against the real sshd. What lands
 * must be what the crash journal recorded (soak seed 1203203), so a transport that sees the
 * change before landing does not land (`localChanged`) and the engine rescans and sends it
 * again; after CHANGED_SENDS_BEFORE_LANDING such sends in a row the file lands all the same.
 * rsync sees only a change made before its own stat: one made while it runs lands and is
 * flagged `changedDuringUpload`.
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
import { CHANGED_SENDS_BEFORE_LANDING } from '../../main/engine/pass.ts';
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

/** One upload's answer, as the tests compare them. */
function answer(r: UploadResult) {
  return {
    path: r.path,
    error: r.error,
    landed: r.uploaded?.size,
    changedDuringUpload: r.changedDuringUpload === true,
    localChanged: r.localChanged === true,
  };
}

const notLanded = {
  path: 'log.txt',
  error: undefined,
  landed: undefined,
  changedDuringUpload: false,
  localChanged: true,
};

/**
 * What the growth tests check once runOnce has returned: the answers of the uploads, that a
 * second pass looked again, and that the server holds the final content.
 */
function assertRescanned(
  seen: Seen,
  summary: { inSync: boolean; uploaded: number },
  f: { local: string; remote: string },
  answers: ReturnType<typeof answer>[],
): void {
  assert.deepEqual(seen.uploads.map(answer), answers);
  // The first full pass, and the rescan of the changed file.
  assert.equal(seen.scans.length, 2, JSON.stringify(seen.scans));
  assert.deepEqual({ inSync: summary.inSync, uploaded: summary.uploaded }, { inSync: true, uploaded: 1 });
  assert.equal(readFileSync(join(f.remote, 'log.txt'), 'utf8'), ORIGINAL + APPENDED);
  assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
}

/** A later run, with plain transports, finds nothing to do: the index holds the final state. */
async function assertSettled(config: Awaited<ReturnType<typeof folderFor>>['config']): Promise<void> {
  const again = await new FolderSync(config).runOnce();
  assert.deepEqual({ inSync: again.inSync, uploaded: again.uploaded }, { inSync: true, uploaded: 0 });
}

/** The real SFTP transport on the fixture's session, with a limiter (awaited before each WRITE) that runs `grow`. */
function sftpOpener(seen: Seen, beforeWrite: () => void): TransportOpener {
  return async (endpoint, localRoot, choice, opts) => {
    const real = await openTransports(endpoint, localRoot, choice, opts);
    assert.ok(real.main instanceof SftpTransport);
    const main = new SftpTransport(real.main.session, real.main.root, async () => undefined, {
      limiter: { take: async () => beforeWrite() },
    });
    return { main: record(main, seen), closed: real.closed, close: () => real.close() };
  };
}

// Soak seed 1203203: what lands must be what the crash journal recorded, or a landing whose
// answer is lost passes for a server edit. A file that changed while it was sent is not landed.
test('SFTP: a file that grows during its upload is not landed, rescanned and sent again', async () => {
  const f = await folderFor('grow-sftp', 'sftp');
  const seen: Seen = { uploads: [], scans: [] };
  let grew = 0;
  const opener = sftpOpener(seen, () => {
    if (grew === 0) (f.grow(), grew++);
  });
  const summary = await new FolderSync(f.config, { openTransports: opener }).runOnce();
  assert.equal(grew, 1, 'the hook grew the file exactly once, inside an upload');
  assertRescanned(seen, summary, f, [
    notLanded,
    { ...notLanded, landed: ORIGINAL.length + APPENDED.length, localChanged: false },
  ]);
  await assertSettled(f.config);
});

test('SFTP: a file that changes under every send lands after CHANGED_SENDS_BEFORE_LANDING sends', async () => {
  const f = await folderFor('grow-always', 'sftp');
  const seen: Seen = { uploads: [], scans: [] };
  let grew = 0;
  let writes = 0;
  // One WRITE per send (the file is small): grow it under each of the first four.
  const opener = sftpOpener(seen, () => {
    if (writes++ < CHANGED_SENDS_BEFORE_LANDING + 1) (f.grow(), grew++);
  });
  const summary = await new FolderSync(f.config, { openTransports: opener }).runOnce();
  assert.equal(grew, CHANGED_SENDS_BEFORE_LANDING + 1);
  // Each send read the file before the WRITE that grew it: the fourth lands what it read.
  const sentSize = ORIGINAL.length + CHANGED_SENDS_BEFORE_LANDING * APPENDED.length;
  assert.deepEqual(seen.uploads.map(answer), [
    ...Array.from({ length: CHANGED_SENDS_BEFORE_LANDING }, () => notLanded),
    { ...notLanded, landed: sentSize, changedDuringUpload: true, localChanged: false },
  ]);
  assert.equal(readFileSync(join(f.remote, 'log.txt'), 'utf8').length, sentSize);
  assert.deepEqual({ inSync: summary.inSync, uploaded: summary.uploaded }, { inSync: false, uploaded: 1 });
  // The file holds still now: the next run sends its final content.
  const again = await new FolderSync(f.config).runOnce();
  assert.deepEqual({ inSync: again.inSync, uploaded: again.uploaded }, { inSync: true, uploaded: 1 });
  assert.deepEqual(diffTrees(readTree(f.local), readTree(f.remote)), []);
});

test('rsync: a file that changed after the scan is not sent, rescanned and sent again', async () => {
  const f = await folderFor('changed-rsync', 'rsync');
  const seen: Seen = { uploads: [], scans: [] };
  let grew = 0;
  const opener: TransportOpener = async (endpoint, localRoot) => {
    const main = record(createRsyncTransport(endpoint, localRoot), seen);
    // Between the scan and the transport's own look at the file.
    const upload = main.upload.bind(main);
    main.upload = (items, onProgress, onItem) => {
      if (grew === 0) (f.grow(), grew++);
      return upload(items, onProgress, onItem);
    };
    return { main, closed: new Promise<undefined>(() => undefined), close: () => main.close() };
  };
  const summary = await new FolderSync(f.config, { openTransports: opener }).runOnce();
  assert.equal(grew, 1);
  assertRescanned(seen, summary, f, [
    notLanded,
    { ...notLanded, landed: ORIGINAL.length + APPENDED.length, localChanged: false },
  ]);
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
  assert.equal(grew, 1);
  // rsync lands what it read (it stat'ed the file before the growth, so it sends the grown
  // file with the size it found); the rescan finds the server already holding it.
  assertRescanned(seen, summary, f, [
    { ...notLanded, landed: ORIGINAL.length, changedDuringUpload: true, localChanged: false },
  ]);
  await assertSettled(f.config);
});
