/**
 * `--bwlimit` achieved rate (issue 13): one file sized for 20 s at the limit, pushed with
 * `ferry sync --once --bwlimit RATE` over SFTP and over rsync to the loopback test sshd.
 * Prints the achieved rate of each: the file's bytes over the whole run's wall time (so the
 * SSH handshake and the listing count against it; the limit is a ceiling, not a target).
 *
 *   node bench/bwlimit.ts [RATE=2M] [SECONDS=20]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRate, formatRate } from '../main/transport/rate-limit.ts';
import { startSshd } from '../test/harness/sshd.ts';

const FERRY = join(dirname(fileURLToPath(import.meta.url)), '..', 'main', 'cli', 'ferry.ts');
const rateText = process.argv[2] ?? '2M';
const seconds = Number(process.argv[3] ?? 20);
const rate = parseRate(rateText);
const size = Math.round(rate * seconds);

const sshd = await startSshd();
const work = mkdtempSync(join(tmpdir(), 'ferry-bwlimit-'));
try {
  console.log(
    `--bwlimit ${rateText} (${formatRate(rate)}), one incompressible file of ${(size / 2 ** 20).toFixed(1)} MiB`,
  );
  for (const transport of ['sftp', 'rsync'] as const) {
    const local = join(work, `local-${transport}`);
    const state = join(work, `state-${transport}`);
    spawnSync('mkdir', ['-p', local]);
    writeFileSync(join(local, 'big.bin'), randomBytes(size));
    const remote = join(sshd.remoteRoot, `bw-${transport}`);
    const started = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        FERRY,
        'sync',
        '--once',
        '--transport',
        transport,
        '--bwlimit',
        rateText,
        '-i',
        sshd.clientKeyPath,
        '--known-hosts',
        sshd.knownHostsPath,
        '--ssh-config',
        '/dev/null',
        '--state-dir',
        state,
        local,
        `ssh://${sshd.user}@127.0.0.1:${sshd.port}${remote}`,
      ],
      { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: '' } },
    );
    const secs = (performance.now() - started) / 1000;
    if (r.status !== 0) throw new Error(`ferry failed over ${transport}: ${r.stderr}`);
    const achieved = size / secs;
    console.log(
      `${transport.padEnd(5)} ${secs.toFixed(1)} s, ${formatRate(achieved)} = ${((achieved / rate) * 100).toFixed(1)}% of the limit`,
    );
  }
} finally {
  await sshd.dispose();
  rmSync(work, { recursive: true, force: true });
}
