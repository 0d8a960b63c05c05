/**
 * Fan-out (issue 12): one change set to 10 targets vs the same change set to 1 target.
 * Ten directories on the loopback sshd, each its own target of one folder; `ferry sync
 * --once` with all ten (one watcher-less run: one local scan, ten lanes at once) against
 * `ferry sync --once` with one. Each rep rewrites 100 of the tree's 1,000 files of 4 KiB
 * and adds 10, then times the two runs in alternating order (both targets' sets start
 * from the same synced state). Run alone: `node bench/workloads/fanout.ts [reps]`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd } from '../../test/harness/sshd.ts';
import { FERRY_BIN, sshFlags, targetOf, tempDir } from '../../test/harness/trees.ts';
import { makeSmallTree } from '../data.ts';
import { timeCommand } from '../proc.ts';
import { fmtMs, median } from '../stats.ts';

export interface FanoutResult {
  one: number[];
  ten: number[];
}

export async function fanout(reps: number, log: (s: string) => void = console.log): Promise<FanoutResult> {
  const sshd = await startSshd();
  const src = tempDir('fanout-src');
  const states = [tempDir('fanout-state-1'), tempDir('fanout-state-10')];
  try {
    makeSmallTree(src, 1000, 20, 4096);
    const one = [join(sshd.remoteRoot, 'one')];
    const ten = Array.from({ length: 10 }, (_, i) => join(sshd.remoteRoot, `ten-${i}`));
    const run = (remotes: string[], state: string) => {
      return timeCommand(process.execPath, [
        FERRY_BIN,
        'sync',
        '--once',
        ...sshFlags(sshd, state),
        src,
        ...remotes.map((d) => targetOf(sshd, d)),
      ]).ms;
    };
    // The initial syncs, not timed.
    run(one, states[0]!);
    run(ten, states[1]!);
    const result: FanoutResult = { one: [], ten: [] };
    for (let rep = 0; rep < reps; rep++) {
      for (let i = 0; i < 100; i++)
        writeFileSync(join(src, `d${i % 20}`, `f${Math.floor(i / 20)}.bin`), `rep ${rep} ${i}\n`.repeat(300));
      for (let i = 0; i < 10; i++) writeFileSync(join(src, `new-${rep}-${i}.txt`), `new ${rep} ${i}`);
      const order = rep % 2 ? (['ten', 'one'] as const) : (['one', 'ten'] as const);
      for (const which of order) {
        const ms = which === 'one' ? run(one, states[0]!) : run(ten, states[1]!);
        result[which].push(ms);
        log(`fan-out rep ${rep + 1}/${reps}: ${which === 'one' ? '1 target' : '10 targets'} ${fmtMs(ms)}`);
      }
    }
    return result;
  } finally {
    for (const d of [src, ...states]) rmSync(d, { recursive: true, force: true });
    await sshd.dispose();
  }
}

if (import.meta.main) {
  const reps = Number(process.argv[2] ?? 7);
  const r = await fanout(reps);
  const ratio = median(r.ten) / median(r.one);
  console.log(
    `1 target: median ${fmtMs(median(r.one))} [${r.one.map(fmtMs).join(', ')}]\n10 targets: median ${fmtMs(median(r.ten))} [${r.ten.map(fmtMs).join(', ')}]\nratio ${ratio.toFixed(2)}x`,
  );
}
