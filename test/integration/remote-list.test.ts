/**
 * The one-listing remote scan (main/transport/remote-list.ts, an exec channel running GNU
 * find) against the real sshd: it must say exactly what the SFTP walk says about the same
 * tree of hostile names (newlines, backslashes, quotes, shell injections, invalid UTF-8,
 * symlinks with odd targets, special modes, FIFOs, Ferry's temp files), and a server that
 * cannot list that way must leave the scan to SFTP, never to an empty or partial listing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sshdForFile } from '../harness/sshd-for-file.ts';
import { startSshd } from '../harness/sshd.ts';
import { openTransports, type OpenTransports } from '../../main/transport/open-transport.ts';
import { resolveEndpoint } from '../../main/ssh/resolve-endpoint.ts';
import { SftpSession } from '../../main/transport/sftp-session.ts';
import type { SftpTransport } from '../../main/transport/sftp-transport.ts';
import { scanSftp } from '../../main/transport/sftp-scan.ts';
import { quotablePath, type ListedEntry } from '../../main/transport/remote-list.ts';
import type { TestSshd } from '../harness/sshd.ts';
import type { RemoteScan } from '../../main/transport/transport.ts';
import { NameMaker } from '../soak/names.ts';
import { Rng } from '../soak/rng.ts';

const fx = sshdForFile();

async function open(sshd: TestSshd, remoteDir: string): Promise<OpenTransports> {
  const endpoint = resolveEndpoint(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${remoteDir}`, {
    identityFiles: [sshd.clientKeyPath],
    knownHostsPath: sshd.knownHostsPath,
    sshConfigPath: null,
    agentSocket: null,
  });
  return await openTransports(endpoint, fx.scope.dir('list-local'), 'sftp');
}

/** The same transport's scan over SFTP alone (a session on the same channel without the lister). */
function sftpOnlyScan(t: OpenTransports, scopes: string[]): Promise<RemoteScan> {
  const main = t.main as SftpTransport;
  return scanSftp({ session: new SftpSession(main.session.sftp), abs: (rel) => main.abs(rel) }, scopes);
}

const sorted = (scan: RemoteScan) => ({
  entries: [...scan.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  tempFiles: [...scan.tempFiles].sort(),
});

/** A tree of hostile names, links and modes under `root`; returns how many entries the scan should hold. */
function hostileTree(root: string): number {
  const names = new NameMaker(new Rng(17), 'remotelist');
  let count = 0;
  const dirs = [root];
  for (let i = 0; i < 60; i++) {
    const parent = dirs[i % dirs.length] as string;
    const isDir = i % 4 === 0;
    const p = join(parent, names.next(isDir, 0.8));
    if (isDir) {
      mkdirSync(p);
      dirs.push(p);
    } else writeFileSync(p, `content ${i}`);
    count++;
  }
  const fixed = join(root, 'fixed');
  mkdirSync(fixed);
  writeFileSync(join(fixed, 'line\nbreak'), 'a');
  writeFileSync(join(fixed, 'back\\slash'), 'bb');
  writeFileSync(join(fixed, 'it\'s "quoted" $HOME `x` !bang'), 'ccc');
  writeFileSync(join(fixed, '-leading-dash'), '');
  writeFileSync(join(fixed, ' lead and trail '), 'd');
  // Not valid UTF-8: SFTP (ssh2) decodes it with U+FFFD, and so must the listing.
  writeFileSync(
    Buffer.concat([Buffer.from(`${fixed}/bad-`), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('.txt')]),
    'e',
  );
  mkdirSync(Buffer.concat([Buffer.from(`${fixed}/dir-`), Buffer.from([0xc3, 0x28])]));
  symlinkSync('../fixed', join(fixed, 'link-to-dir'));
  symlinkSync('no/such/target', join(fixed, 'dangling'));
  symlinkSync('target\nwith newline and \\ backslash', join(fixed, 'odd-target'));
  symlinkSync(Buffer.from([0x61, 0xff, 0x62]), join(fixed, 'bad-target'));
  writeFileSync(join(fixed, 'setuid'), 'x');
  chmodSync(join(fixed, 'setuid'), 0o4751);
  mkdirSync(join(fixed, 'sticky'));
  chmodSync(join(fixed, 'sticky'), 0o1777);
  writeFileSync(join(fixed, 'old'), 'old');
  utimesSync(join(fixed, 'old'), 1_000_000_000.75, 1_000_000_000.75);
  execFileSync('mkfifo', [join(fixed, 'fifo')]); // left out by both
  mkdirSync(join(fixed, '.ferry-tmp-dir'));
  writeFileSync(join(fixed, '.ferry-tmp-dir', 'inside'), 'not listed');
  writeFileSync(join(fixed, '.ferry-tmp-file'), 'temp');
  count += 1 + 5 + 2 + 4 + 3; // fixed, five files, two bad names, four links, setuid, sticky, old
  return count;
}

test('one exec-channel listing says what the SFTP walk says about a tree of hostile names', async () => {
  const remote = join(fx.sshd.remoteRoot, 'hostile');
  mkdirSync(remote);
  const expected = hostileTree(remote);
  execFileSync('chown', ['-R', '-h', `${fx.sshd.uid}:${fx.sshd.gid}`, remote]);
  chmodSync(join(remote, 'fixed', 'setuid'), 0o4751); // chown clears the set-user-ID bit
  const t = await open(fx.sshd, remote);
  try {
    const main = t.main as SftpTransport;
    // The listing is used (it answers true), not silently replaced by SFTP.
    const listed: ListedEntry[] = [];
    assert.ok(main.session.listTree, 'the transport has a lister');
    assert.equal(await main.session.listTree(main.abs(''), (e) => listed.push(e)), true);
    assert.ok(listed.some((e) => e.rel === 'fixed/line\nbreak' && e.type === 'f' && e.size === 1));
    assert.ok(listed.some((e) => e.rel === 'fixed/odd-target' && e.target === 'target\nwith newline and \\ backslash'));

    const viaListing = await t.main.scan(['']);
    const viaSftp = await sftpOnlyScan(t, ['']);
    assert.deepEqual(sorted(viaListing), sorted(viaSftp));
    // Root, the counted entries; the FIFO and the temp entries left out; temp entries noted.
    assert.equal(viaListing.entries.size, expected + 1);
    assert.deepEqual(sorted(viaListing).tempFiles, ['fixed/.ferry-tmp-dir', 'fixed/.ferry-tmp-file']);
    assert.equal((viaListing.entries.get('fixed/setuid') as { mode: number }).mode, 0o4751);
    assert.deepEqual(viaListing.entries.get('fixed/old'), {
      kind: 'file',
      size: 3,
      mtimeMs: 1_000_000_000_000,
      mode: 0o644,
    });
    assert.deepEqual(viaListing.entries.get('fixed/sticky'), { kind: 'dir', mode: 0o1777 });
    assert.deepEqual(viaListing.entries.get('fixed/bad-target'), { kind: 'symlink', target: 'a\uFFFDb' });
    assert.ok([...viaListing.entries.keys()].some((p) => p.startsWith('fixed/bad-') && p.includes('\uFFFD')));
    // Every name on disk below the root is accounted for (bar the FIFO and temp entries).
    assert.equal(readdirSync(join(remote, 'fixed')).length, 17);
  } finally {
    await t.close();
  }
});

test('a scoped scan and a root that cannot be quoted for every shell are listed over SFTP, alike', async () => {
  assert.equal(quotablePath("/srv/it's"), false);
  assert.equal(quotablePath('/srv/ok dir/é'), true);
  const remote = join(fx.sshd.remoteRoot, "quote's\\root");
  mkdirSync(join(remote, 'sub'), { recursive: true });
  writeFileSync(join(remote, 'sub', 'f'), 'x');
  execFileSync('chown', ['-R', '-h', `${fx.sshd.uid}:${fx.sshd.gid}`, remote]);
  const t = await open(fx.sshd, remote);
  try {
    const main = t.main as SftpTransport;
    assert.equal(await main.session.listTree?.(main.abs(''), () => undefined), false);
    const scan = await t.main.scan(['']);
    assert.deepEqual(sorted(scan), sorted(await sftpOnlyScan(t, [''])));
    assert.deepEqual([...scan.entries.keys()].sort(), ['', 'sub', 'sub/f']);
    assert.deepEqual(sorted(await t.main.scan(['sub'])), sorted(await sftpOnlyScan(t, ['sub'])));
  } finally {
    await t.close();
  }
});

test('an SFTP-only account (ForceCommand internal-sftp) gets no listing and a full SFTP scan', async () => {
  const sshd = await startSshd({ extraConfig: ['ForceCommand internal-sftp'] });
  try {
    const remote = join(sshd.remoteRoot, 'tree');
    mkdirSync(join(remote, 'a', 'b'), { recursive: true });
    writeFileSync(join(remote, 'a', 'b', 'f'), 'x');
    execFileSync('chown', ['-R', '-h', `${sshd.uid}:${sshd.gid}`, remote]);
    const t = await open(sshd, remote);
    try {
      const main = t.main as SftpTransport;
      assert.equal(await main.session.listTree?.(main.abs(''), () => undefined), false);
      const scan = await t.main.scan(['']);
      assert.deepEqual([...scan.entries.keys()].sort(), ['', 'a', 'a/b', 'a/b/f']);
    } finally {
      await t.close();
    }
  } finally {
    await sshd.dispose();
  }
});
