/**
 * Test helpers for comparing a local tree with the server's copy (same machine: the test
 * sshd serves a local directory) and for running the real `ferry` binary.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  mkdirSync,
  rmSync,
  writeFileSync,
  mkdtempSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onLines } from './lines.ts';
import type { TestSshd } from './sshd.ts';

export const FERRY_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'main', 'cli', 'ferry.ts');

export interface TreeEntry {
  kind: 'file' | 'dir' | 'symlink';
  mode?: number;
  size?: number;
  mtimeSec?: number;
  sha256?: string;
  target?: string;
}

/** Everything below `root` (not following symlinks), keyed by relative path. Names are compared byte-exact. */
export function readTree(root: string, opts: { skip?: (name: string) => boolean } = {}): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    for (const name of readdirSync(abs)) {
      if (opts.skip?.(name)) continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isSymbolicLink()) out.set(r, { kind: 'symlink', target: readlinkSync(join(root, r)) });
      else if (st.isDirectory()) {
        out.set(r, { kind: 'dir', mode: st.mode & 0o7777 });
        walk(r);
      } else if (st.isFile()) {
        out.set(r, {
          kind: 'file',
          mode: st.mode & 0o7777,
          size: st.size,
          mtimeSec: Math.floor(st.mtimeMs / 1000),
          sha256: createHash('sha256')
            .update(readFileSync(join(root, r)))
            .digest('hex'),
        });
      }
    }
  };
  walk('');
  return out;
}

/** Differences between two trees, as readable lines (empty when identical). */
export function diffTrees(a: Map<string, TreeEntry>, b: Map<string, TreeEntry>): string[] {
  const out: string[] = [];
  for (const [p, e] of a) {
    const f = b.get(p);
    if (!f) out.push(`only local: ${JSON.stringify(p)}`);
    else if (JSON.stringify(e) !== JSON.stringify(f))
      out.push(`differs: ${JSON.stringify(p)} local=${JSON.stringify(e)} remote=${JSON.stringify(f)}`);
  }
  for (const p of b.keys()) if (!a.has(p)) out.push(`only remote: ${JSON.stringify(p)}`);
  return out;
}

/** Write files from a spec: string = content; { link } = symlink; null = directory. */
export function writeTree(root: string, spec: Record<string, string | Buffer | null>): void {
  for (const [rel, content] of Object.entries(spec)) {
    const abs = join(root, rel);
    if (content === null) mkdirSync(abs, { recursive: true });
    else {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    }
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ferry-${prefix}-`));
}

export function targetOf(sshd: TestSshd, remoteDir: string): string {
  return `ssh://${sshd.user}@127.0.0.1:${sshd.port}${remoteDir}`;
}

/** The flags every test run needs: the harness key and known_hosts, and a private state dir. */
export function sshFlags(sshd: TestSshd, stateDir: string): string[] {
  return [
    '-i',
    sshd.clientKeyPath,
    '--known-hosts',
    sshd.knownHostsPath,
    '--state-dir',
    stateDir,
    '--ssh-config',
    '/dev/null',
  ];
}

export interface FerryRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Parsed `--json` lines. */
  events: Record<string, unknown>[];
}

export function parseEvents(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Run `ferry <args>` to completion. */
export function runFerry(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<FerryRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args], {
      env: { ...process.env, SSH_AUTH_SOCK: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ferry ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let events: Record<string, unknown>[] = [];
      try {
        events = parseEvents(stdout);
      } catch {
        // not --json output
      }
      resolve({ code, signal, stdout, stderr, events });
    });
  });
}

/** A long-running `ferry sync` (watch mode) with its JSON events collected as they come. */
export interface FerryProcess {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr(): string;
  /** Resolves once an event matching `pred` has arrived (checks past events too). */
  waitFor(
    pred: (e: Record<string, unknown>) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startFerry(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): FerryProcess {
  const child = spawn(process.execPath, [FERRY_BIN, ...args], {
    env: { ...process.env, SSH_AUTH_SOCK: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Record<string, unknown>[] = [];
  let err = '';
  const waiters: { pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] =
    [];
  onLines(child.stdout, (line) => {
    const e = JSON.parse(line) as Record<string, unknown>;
    events.push(e);
    for (const w of [...waiters]) if (w.pred(e)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(e));
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    events,
    stderr: () => err,
    exited,
    waitFor(pred, timeoutMs = 30_000, what = 'event') {
      const past = events.find(pred);
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`timed out waiting for ${what}; stderr: ${err}; events: ${JSON.stringify(events.slice(-5))}`),
            ),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

/**
 * Poll `check` until it returns true (or throw after `timeoutMs` with `describe()` and the
 * last error `check` threw). A throw counts as "not yet": a file on the server is briefly
 * absent while Ferry replaces it (moved aside, checked, then the new version lands), so a
 * read of it can fail with ENOENT between two polls that both see it.
 */
export async function eventually(
  check: () => boolean,
  timeoutMs = 20_000,
  describe: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  const ok = () => {
    try {
      return check();
    } catch (err) {
      lastError = err;
      return false;
    }
  };
  while (!ok()) {
    if (Date.now() > deadline)
      throw new Error(
        `condition not met in time. ${describe()}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Relative paths of every Ferry temporary (`.ferry-tmp-*`) at any depth below `root`. */
export function ferryTempFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(rel ? join(root, rel) : root);
    } catch {
      return; // vanished while we looked
    }
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      if (name.startsWith('.ferry-tmp-')) out.push(r);
      try {
        if (lstatSync(join(root, r)).isDirectory()) walk(r);
      } catch {
        /* vanished */
      }
    }
  };
  walk('');
  return out;
}

/**
 * Waits until `remote` holds exactly what `local` holds (local names for which `skip` is true
 * left out on the local side only), polling; throws with the last difference when it does not
 * happen within `timeoutMs`. A tree changing under the read counts as "not yet".
 */
export async function waitForSameTree(
  local: string,
  remote: string,
  opts: { skip?: (name: string) => boolean; timeoutMs?: number } = {},
): Promise<void> {
  let last: string[] = [];
  await eventually(
    () => {
      try {
        last = diffTrees(readTree(local, opts.skip ? { skip: opts.skip } : {}), readTree(remote));
      } catch (err) {
        last = [`tree changed while read: ${(err as Error).message}`];
      }
      return last.length === 0;
    },
    opts.timeoutMs ?? 30_000,
    () => `local ${local} and remote ${remote} still differ:\n${last.slice(0, 20).join('\n')}`,
  );
}

/** Editor droppings that Ferry's default ignore rules leave out (by base name). */
export const editorJunk = (name: string): boolean => /\.sw[pxo]$|^4913$|~$|^\.#/.test(name);

/**
 * The temp directories and watch-mode ferry processes of one test file: `dispose` (in
 * `after`) kills what still runs and removes the directories.
 */
export class FerryScope {
  private readonly dirs: string[] = [];
  private readonly procs: FerryProcess[] = [];

  dir(name: string): string {
    const d = tempDir(name);
    this.dirs.push(d);
    return d;
  }

  /** `ferry sync --json ...args`, watching. */
  watch(args: string[], env?: NodeJS.ProcessEnv): FerryProcess {
    const p = startFerry(['sync', '--json', ...args], env ? { env } : {});
    this.procs.push(p);
    return p;
  }

  /** Stops a watch-mode ferry with SIGTERM and checks that it exits cleanly. */
  async stop(p: FerryProcess): Promise<void> {
    p.child.kill('SIGTERM');
    assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
  }

  async dispose(): Promise<void> {
    for (const p of this.procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
