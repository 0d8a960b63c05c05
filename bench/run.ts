/**
 * Ferry vs rsync on a loopback sshd started by the test harness. Figures are medians of
 * interleaved runs (ferry, rsync, ferry, rsync, ...) and reported as ratios, since absolute
 * times drift a lot on shared machines (see ../shared/PERF_NOTES.md).
 *
 *   node bench/run.ts [--quick] [--reps N] [--only small,big,noop,latency,delta]
 *
 * Never run by the tests. Writes a Markdown table to stdout.
 */
import { spawnSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../test/harness/sshd.ts';
import { FERRY_BIN, startFerry, sshFlags, targetOf, tempDir } from '../test/harness/trees.ts';

// Both trees and the server's copy live on tmpfs when the machine has one: disk write-back
// after each run's cleanup otherwise swings later runs by 3-5x here.
if (!process.env.TMPDIR && existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const reps = Number(args[args.indexOf('--reps') + 1]) || (quick ? 3 : 5);
const only = args.includes('--only') ? (args[args.indexOf('--only') + 1] ?? '').split(',') : ['small', 'big', 'noop', 'latency', 'delta'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function timeIt(cmd: string, argv: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SSH_AUTH_SOCK: '' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.slice(0, 4).join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

function sshCommand(sshd: TestSshd): string {
  return `ssh -p ${sshd.port} -i ${sshd.clientKeyPath} -o UserKnownHostsFile=${sshd.knownHostsPath} -o StrictHostKeyChecking=yes -o BatchMode=yes -F /dev/null`;
}

function makeSmallTree(root: string, files: number, dirs: number, size: number): void {
  const buf = Buffer.alloc(size);
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < files / dirs; f++) {
      buf.writeUInt32LE(d * 100000 + f, 0);
      writeFileSync(join(root, `d${d}`, `f${f}.bin`), buf);
    }
  }
}

function makeBigFile(path: string, bytes: number): void {
  const r = spawnSync('dd', ['if=/dev/urandom', `of=${path}`, 'bs=1M', `count=${Math.ceil(bytes / 1048576)}`, 'status=none']);
  if (r.status !== 0) throw new Error(`dd failed: ${r.stderr}`);
}

interface Row {
  workload: string;
  ferry: number[];
  rsync: number[];
}

async function initialSync(sshd: TestSshd, name: string, make: (root: string) => void): Promise<Row> {
  const src = tempDir(`bench-${name}`);
  make(src);
  const row: Row = { workload: name, ferry: [], rsync: [] };
  for (let i = 0; i < reps; i++) {
    const state = tempDir('bench-state');
    const ferryDest = join(sshd.remoteRoot, `${name}-ferry-${i}`);
    const rsyncDest = join(sshd.remoteRoot, `${name}-rsync-${i}`);
    row.ferry.push(timeIt(process.execPath, [FERRY_BIN, 'sync', '--once', ...sshFlags(sshd, state), src, targetOf(sshd, ferryDest)]));
    row.rsync.push(timeIt('rsync', ['-a', '-e', sshCommand(sshd), `${src}/`, `${sshd.user}@127.0.0.1:${rsyncDest}/`]));
    rmSync(ferryDest, { recursive: true, force: true });
    rmSync(rsyncDest, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
  rmSync(src, { recursive: true, force: true });
  return row;
}

async function noopSync(sshd: TestSshd): Promise<Row> {
  const src = tempDir('bench-noop');
  makeSmallTree(src, quick ? 2000 : 10000, quick ? 20 : 100, 4096);
  const state = tempDir('bench-state');
  const ferryDest = join(sshd.remoteRoot, 'noop-ferry');
  const rsyncDest = join(sshd.remoteRoot, 'noop-rsync');
  const ferryArgs = [FERRY_BIN, 'sync', '--once', ...sshFlags(sshd, state), src, targetOf(sshd, ferryDest)];
  const rsyncArgs = ['-a', '-e', sshCommand(sshd), `${src}/`, `${sshd.user}@127.0.0.1:${rsyncDest}/`];
  timeIt(process.execPath, ferryArgs);
  timeIt('rsync', rsyncArgs);
  const row: Row = { workload: `no-op re-run of ${quick ? '2,000' : '10,000'} x 4 KiB`, ferry: [], rsync: [] };
  for (let i = 0; i < reps; i++) {
    row.ferry.push(timeIt(process.execPath, ferryArgs));
    row.rsync.push(timeIt('rsync', rsyncArgs));
  }
  rmSync(src, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
  return row;
}

/** close() of a 4 KiB file to its final name on the server: ferry watching vs one rsync per change. */
async function latency(sshd: TestSshd): Promise<Row> {
  const src = tempDir('bench-lat');
  const state = tempDir('bench-state');
  const dest = join(sshd.remoteRoot, 'latency-ferry');
  const rsyncDest = join(sshd.remoteRoot, 'latency-rsync');
  mkdirSync(rsyncDest, { recursive: true });
  const ferry = startFerry(['sync', '--json', '--transport', 'sftp', ...sshFlags(sshd, state), src, targetOf(sshd, dest)]);
  await ferry.waitFor((e) => e.event === 'state' && e.state === 'idle', 30_000, 'first idle');
  const row: Row = { workload: 'save-to-server latency, 4 KiB file (p50)', ferry: [], rsync: [] };
  const samples = quick ? 20 : 50;
  for (let i = 0; i < samples; i++) {
    const content = `sample ${i} `.padEnd(4096, '.');
    const name = `f${i}.txt`;
    const t0 = performance.now();
    writeFileSync(join(src, name), content);
    const target = join(dest, name);
    while (!(existsSync(target) && readFileSync(target, 'utf8') === content)) await new Promise((r) => setImmediate(r));
    row.ferry.push(performance.now() - t0);
    // The per-event rsync of the inotifywait recipe: one rsync (and one ssh connection) per change.
    const t1 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const p = spawn('rsync', ['-a', '-e', sshCommand(sshd), join(src, name), `${sshd.user}@127.0.0.1:${rsyncDest}/`], { stdio: 'ignore' });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rsync exited ${code}`))));
    });
    row.rsync.push(performance.now() - t1);
    await new Promise((r) => setTimeout(r, 20));
  }
  ferry.child.kill('SIGTERM');
  await ferry.exited;
  rmSync(src, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
  return row;
}

/**
 * The rsync-delta threshold: 1 MiB rewritten in the middle of files of several sizes, pushed by
 * `ferry sync --once` with the delta path forced off (full SFTP resend, column "ferry") and
 * forced on (rsync delta, column "rsync").
 */
async function deltaCrossover(sshd: TestSshd): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mib of quick ? [16, 64] : [16, 32, 64, 256]) {
    const local = tempDir('bench-delta');
    const state = tempDir('bench-state');
    const remote = join(sshd.remoteRoot, `delta-${mib}`);
    makeBigFile(join(local, 'big.bin'), mib * 1048576);
    const run = (threshold: number) =>
      timeIt(process.execPath, [FERRY_BIN, 'sync', '--once', '--delta-threshold', String(threshold), ...sshFlags(sshd, state), local, targetOf(sshd, remote)]);
    run(2 ** 40);
    const row: Row = { workload: `1 MiB rewritten in a ${mib} MiB file: SFTP resend vs rsync delta`, ferry: [], rsync: [] };
    for (let i = 0; i < reps * 2; i++) {
      const fd = openSync(join(local, 'big.bin'), 'r+');
      writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, Math.floor(mib / 2) << 20);
      closeSync(fd);
      if (i % 2) row.rsync.push(run(1));
      else row.ferry.push(run(2 ** 40));
    }
    rows.push(row);
    rmSync(local, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
    rmSync(remote, { recursive: true, force: true });
  }
  return rows;
}

const sshd = await startSshd();
const rows: Row[] = [];
try {
  if (only.includes('small'))
    rows.push(await initialSync(sshd, quick ? 'initial 2,000 x 4 KiB' : 'initial 10,000 x 4 KiB (100 dirs)', (r) => makeSmallTree(r, quick ? 2000 : 10000, quick ? 20 : 100, 4096)));
  if (only.includes('big')) {
    const size = quick ? 128 * 1024 * 1024 : 1024 * 1024 * 1024;
    rows.push(await initialSync(sshd, quick ? 'initial 1 file of 128 MiB' : 'initial 1 file of 1 GiB', (r) => makeBigFile(join(r, 'big.bin'), size)));
  }
  if (only.includes('noop')) rows.push(await noopSync(sshd));
  if (only.includes('latency')) rows.push(await latency(sshd));
  if (only.includes('delta')) rows.push(...(await deltaCrossover(sshd)));
} finally {
  await sshd.dispose();
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
console.log(`| workload | ferry median (min-max) | rsync median (min-max) | ferry / rsync |`);
console.log(`|---|---|---|---|`);
for (const r of rows) {
  const f = median(r.ferry);
  const s = median(r.rsync);
  console.log(`| ${r.workload} | ${fmt(f)} (${fmt(Math.min(...r.ferry))}-${fmt(Math.max(...r.ferry))}) | ${fmt(s)} (${fmt(Math.min(...r.rsync))}-${fmt(Math.max(...r.rsync))}) | ${(f / s).toFixed(2)} |`);
}
console.log(`\n${reps} interleaved runs per figure (latency: ${quick ? 20 : 50} samples); ferry with its default transport (auto); temp dir ${process.env.TMPDIR}; ${new Date().toISOString()}; node ${process.version}`);
