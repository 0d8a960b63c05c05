/**
 * Background load for the latency workload, run as its own process so its file writes do not
 * delay the measuring process: every `intervalMs`, rewrites `files` files of 4 KiB in `dir`
 * (a burst), then optionally runs one command (argv as JSON, e.g. an rsync pushing `dir`)
 * before sleeping until the next interval. Runs until killed. Prints "burst N" per burst.
 *
 *   node bench/churn.ts <dir> <files> <intervalMs> [<argv JSON>]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, filesArg, intervalArg, commandJson] = process.argv.slice(2);
if (!dir || !filesArg || !intervalArg) {
  process.stderr.write('usage: node bench/churn.ts <dir> <files> <intervalMs> [<argv JSON>]\n');
  process.exit(2);
}
const files = Number(filesArg);
const intervalMs = Number(intervalArg);
const command = commandJson ? (JSON.parse(commandJson) as string[]) : undefined;
mkdirSync(dir, { recursive: true });

for (let n = 0; ; n++) {
  const t0 = Date.now();
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `c${i}.bin`), randomBytes(4096));
  if (command?.[0])
    spawnSync(command[0], command.slice(1), { stdio: 'ignore', env: { ...process.env, SSH_AUTH_SOCK: '' } });
  process.stdout.write(`burst ${n}\n`);
  const wait = intervalMs - (Date.now() - t0);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
