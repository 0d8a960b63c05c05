/**
 * Where the byte side of the bulk rule pays (`--bulk-bytes`): N files of S bytes pushed by
 * `ferry sync --once` into an empty server directory, once with every small file over SFTP and
 * once through one rsync run, alternating. `node bench/bulk-bytes-probe.ts [N:S ...]`
 * (sizes in KiB). Prints median seconds per route. Not part of `npm run bench`: it measured
 * the default in main/cli/folder-options.ts.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd } from '../test/harness/sshd.ts';
import { runFerry, sshFlags, targetOf, tempDir } from '../test/harness/trees.ts';

const shapes = (
  process.argv.slice(2).length ? process.argv.slice(2) : ['64:1024', '128:1024', '256:1024', '32:4096']
).map((s) => s.split(':').map(Number) as [number, number]);
const sshd = await startSshd();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
try {
  for (const [n, kib] of shapes) {
    const local = tempDir('bb-local');
    for (let i = 0; i < n; i++) writeFileSync(join(local, `f${i}`), Buffer.alloc(kib * 1024, i % 251));
    const times: Record<string, number[]> = { sftp: [], rsync: [] };
    for (let round = 0; round < 3; round++) {
      for (const route of ['sftp', 'rsync'] as const) {
        const state = tempDir('bb-state');
        const remote = join(sshd.remoteRoot, `bb-${n}-${kib}-${route}-${round}`);
        mkdirSync(remote);
        const bulk =
          route === 'rsync'
            ? ['--bulk-bytes', '1', '--bulk-threshold', '1']
            : ['--bulk-bytes', String(2 ** 50), '--bulk-threshold', String(10 ** 9)];
        const t0 = performance.now();
        const run = await runFerry(
          ['sync', '--once', ...bulk, ...sshFlags(sshd, state), local, targetOf(sshd, remote)],
          { timeoutMs: 300_000 },
        );
        const s = (performance.now() - t0) / 1000;
        if (run.code !== 0) throw new Error(`${route} failed: ${run.stderr}`);
        times[route]?.push(s);
        rmSync(remote, { recursive: true, force: true });
        rmSync(state, { recursive: true, force: true });
      }
    }
    rmSync(local, { recursive: true, force: true });
    const sftp = median(times.sftp ?? []);
    const rsync = median(times.rsync ?? []);
    console.log(
      `${n} x ${kib} KiB (${((n * kib) / 1024).toFixed(0)} MiB): SFTP ${sftp.toFixed(2)} s [${times.sftp?.map((t) => t.toFixed(2)).join(' ')}], rsync ${rsync.toFixed(2)} s [${times.rsync?.map((t) => t.toFixed(2)).join(' ')}], rsync/SFTP ${(rsync / sftp).toFixed(2)}`,
    );
  }
} finally {
  await sshd.dispose();
}
