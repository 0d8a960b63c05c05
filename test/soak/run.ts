/**
 * `npm run soak -- --minutes N [--folders N] [--seed N] [--faults kind,kind] [--server-share S] [--no-trash] [--short] [--json] [--keep]`
 *
 * Runs the soak (see soak.ts) for N minutes of edits under faults, prints what was done, the
 * faults injected by kind and every difference found, and exits 0 only when there were none
 * (1 on differences or problems, 2 on bad usage). `--keep` keeps the work directory of a
 * failed run; `--server-share S` (0 to 1, default 0.1; 0: none) is the share of the driver's
 * turns spent editing the server's copy instead of the local folder (server-edits.ts);
 * `--no-trash` runs no folder with `--trash` (by default the one before the small disk does);
 * `--short` uses the CI version's faster chaos and smaller trees; `--json` prints the whole
 * report as JSON at the end.
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from './chaos.ts';
import { formatReport } from './report.ts';
import { runSoak } from './soak.ts';

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run soak -- --minutes N [--folders N] [--seed N] [--faults ${FAULT_KINDS.join(',')}] [--server-share S] [--no-trash] [--short] [--json] [--keep]\n`,
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      folders: { type: 'string', default: '3' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      short: { type: 'boolean', default: false },
      faults: { type: 'string' },
      'server-share': { type: 'string' },
      'no-trash': { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  usage((err as Error).message);
}
const minutes = Number(values.minutes);
const folders = Number(values.folders);
if (!(minutes > 0)) usage(`--minutes must be a positive number, got ${values.minutes}`);
if (!Number.isInteger(folders) || folders < 2)
  usage(`--folders must be a whole number of at least 2, got ${values.folders}`);
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (seed !== undefined && !Number.isInteger(seed)) usage(`--seed must be a whole number, got ${values.seed}`);

const serverShare = values['server-share'] === undefined ? undefined : Number(values['server-share']);
if (serverShare !== undefined && !(serverShare >= 0 && serverShare <= 1))
  usage(`--server-share must be a number from 0 to 1, got ${values['server-share']}`);

const faults = values.faults === undefined ? undefined : (values.faults.split(',').map((k) => k.trim()) as FaultKind[]);
for (const k of faults ?? [])
  if (!FAULT_KINDS.includes(k)) usage(`--faults: unknown kind ${JSON.stringify(k)}; kinds: ${FAULT_KINDS.join(', ')}`);

const stamp = () => new Date().toISOString().slice(11, 19);
const report = await runSoak({
  minutes,
  folders,
  ...(seed !== undefined ? { seed } : {}),
  keepOnFailure: values.keep,
  short: values.short,
  ...(faults ? { faults } : {}),
  ...(serverShare !== undefined ? { serverShare } : {}),
  trash: !values['no-trash'],
  log: (line) => process.stderr.write(`[${stamp()}] ${line}\n`),
});
process.stdout.write(formatReport(report));
if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exitCode = report.ok ? 0 : 1;
