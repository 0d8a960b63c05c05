/**
 * The machine the suite runs on: which peers exist (installing missing Debian packages when
 * running as root), versions for the report, and the load average.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { capture } from './proc.ts';

/** Absolute path of an executable found on PATH, or undefined. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Peers and helpers the suite uses, with the Debian package that provides each. */
export const WANTED = [
  { name: 'rsync', pkg: 'rsync' },
  { name: 'scp', pkg: 'openssh-client' },
  { name: 'sftp', pkg: 'openssh-client' },
  { name: 'lsyncd', pkg: 'lsyncd' },
  { name: 'rsvg-convert', pkg: 'librsvg2-bin' },
] as const;

function aptInstall(pkgs: string[], log: (m: string) => void): string | undefined {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], {
      env,
      encoding: 'utf8',
      timeout: 600_000,
    });
  log(`installing ${pkgs.join(', ')} with apt-get`);
  let r = install();
  if (r.status !== 0) {
    // A fresh container often has no package lists yet.
    spawnSync('apt-get', ['update'], { env, encoding: 'utf8', timeout: 600_000 });
    r = install();
  }
  if (r.error) return `apt-get could not run (${r.error.message})`;
  return r.status === 0
    ? undefined
    : `apt-get install ${pkgs.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`;
}

/**
 * Finds every wanted tool; installs the missing ones with apt-get when running as root.
 * Returns the tools found and, for the others, a sentence saying why they are missing.
 */
export function ensureTools(log: (m: string) => void): { tools: Map<string, string>; skipped: Map<string, string> } {
  const tools = new Map<string, string>();
  const skipped = new Map<string, string>();
  const missing = WANTED.filter((w) => !findExecutable(w.name));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))];
    const isRoot = process.getuid?.() === 0;
    const hasApt = !!findExecutable('apt-get');
    const why = !isRoot
      ? `not installed, and the suite is not running as root to install it (run \`sudo apt-get install ${pkgs.join(' ')}\`)`
      : !hasApt
        ? 'not installed, and apt-get is not available to install it'
        : aptInstall(pkgs, log);
    for (const m of missing)
      if (why && !findExecutable(m.name))
        skipped.set(
          m.name,
          `\`${m.name}\` (Debian package ${m.pkg}) is ${why.startsWith('not') ? why : `missing: ${why}`}`,
        );
  }
  for (const w of WANTED) {
    const p = findExecutable(w.name);
    if (p) tools.set(w.name, p);
    else if (!skipped.has(w.name)) skipped.set(w.name, `\`${w.name}\` (Debian package ${w.pkg}) is not installed`);
  }
  return { tools, skipped };
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  versions: { label: string; version: string }[];
}

function ssh2Version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../node_modules/ssh2/package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(tools: Map<string, string>): MachineInfo {
  const first = (s: string | undefined) => (s ?? 'not installed').split('\n')[0] ?? '';
  const nproc = Number(capture('nproc', [])) || cpus().length;
  return {
    nproc,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: first(capture('uname', ['-sr'])),
    versions: [
      { label: 'OpenSSH', version: first(capture('ssh', ['-V'])) },
      { label: 'rsync', version: first(capture('rsync', ['--version'])).replace(/\s+/g, ' ') },
      { label: 'Node', version: process.version },
      { label: 'ssh2', version: ssh2Version() },
      { label: 'lsyncd', version: tools.has('lsyncd') ? first(capture('lsyncd', ['-version'])) : 'not installed' },
    ],
  };
}

/** `uptime`'s load averages, e.g. "0.67, 1.33, 1.36". */
export function loadAverages(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}
