/**
 * `ferry status`, `pause`, `resume`, `monitor` and `why`: ask the running Ferry processes
 * over their control sockets (main/control/), or read the state directory when none runs.
 */
import { dirname, resolve } from 'node:path';
import { connectAll, type ControlClient } from '../control/client.ts';
import { coldFolders } from '../control/cold.ts';
import type { WhyAnswer, WireStatus } from '../control/protocol.ts';
import { UnsafeControlPath, controlDir } from '../control/socket-dir.ts';
import { explainPath, type WhyFolder } from '../control/why.ts';
import { defaultStateRoot } from '../engine/folder-state-dir.ts';
import { loadDaemonConfig } from './daemon-config.ts';

export interface ControlFlags {
  stateDir?: string;
  config?: string;
  json?: boolean;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

/** Exit codes: 0 done, 1 nothing running (or nothing matched), 2 bad usage or an unsafe socket. */
const EXIT = { ok: 0, none: 1, usage: 2 } as const;

/** Where to look: --state-dir, the daemon config's stateDir, or the default. Also the config's ignore patterns per folder. */
async function where(
  flags: ControlFlags,
): Promise<{ root: string; ignoreOf: (localRoot: string) => string[] | undefined }> {
  if (flags.config) {
    const { config, folders } = await loadDaemonConfig(flags.config);
    const root = flags.stateDir
      ? resolve(flags.stateDir)
      : config.stateDir
        ? resolve(dirname(resolve(flags.config)), config.stateDir)
        : defaultStateRoot();
    return { root, ignoreOf: (l) => folders.find((f) => resolve(f.local) === l)?.ignore ?? [] };
  }
  return { root: flags.stateDir ? resolve(flags.stateDir) : defaultStateRoot(), ignoreOf: () => undefined };
}

/** Connects to every running Ferry; prints why and returns undefined when a socket is unsafe. */
async function clients(root: string): Promise<ControlClient[] | undefined> {
  try {
    return await connectAll(root);
  } catch (e) {
    if (e instanceof UnsafeControlPath) {
      err(`Refusing to use the control socket: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

function ago(iso: string | undefined): string {
  return iso ? iso.replace(/\.\d+Z$/, 'Z') : 'never';
}

/**
 * The folder's state in words. A target paused on its own is named: the folder goes on
 * syncing to the others ("in sync on 1 of 2 targets; paused: web2:/srv"), it is not paused.
 */
function stateWords(s: WireStatus): string {
  const targets = (s.targets ?? []) as WireStatus[];
  const paused = targets.filter((t) => t.state === 'paused');
  const running = targets.filter((t) => t.state !== 'paused');
  if (!paused.length || !running.length)
    return s.state === 'idle' ? (s.inSync ? 'in sync' : 'idle, not in sync') : s.state;
  const rest =
    s.state === 'idle' && running.every((t) => t.state === 'idle' && t.inSync)
      ? `in sync on ${running.length} of ${targets.length} targets`
      : s.state;
  return `${rest}; paused: ${paused.map((t) => t.remote).join(', ')}`;
}

function describe(s: WireStatus): string[] {
  const state = stateWords(s);
  const counts =
    s.state === 'syncing' ? `, ${s.filesDone}/${s.filesTotal} items` : s.queued ? `, ${s.queued} queued` : '';
  const lines = [`${s.localRoot} -> ${s.remote}: ${state}${counts} (id ${s.id.slice(0, 8)})`];
  lines.push(
    `  last sync ${ago(s.lastSyncAt)}, ${s.failedItems.length} failed item(s), ${s.conflictCount} conflict(s) logged`,
  );
  if (s.halt) lines.push(`  halted: ${s.halt.message}`);
  if (s.lastError) lines.push(`  last error: ${s.lastError}`);
  for (const f of s.failedItems.slice(0, 20))
    lines.push(`  failed: ${f.path}: ${f.error} (${f.attempts} attempt(s), next retry ${ago(f.nextRetryAt)})`);
  if (s.failedItems.length > 20) lines.push(`  ... and ${s.failedItems.length - 20} more failed item(s)`);
  return lines;
}

export async function statusCommand(flags: ControlFlags): Promise<number> {
  const { root } = await where(flags);
  const cs = await clients(root);
  if (!cs) return EXIT.usage;
  try {
    if (cs.length) {
      const replies = await Promise.all(cs.map((c) => c.request({ op: 'status' })));
      if (flags.json)
        out(JSON.stringify({ running: true, processes: replies.map((r) => ({ pid: r.pid, folders: r.folders })) }));
      else
        for (const r of replies) {
          out(`Ferry pid ${r.pid}: ${r.folders.length} folder(s)`);
          for (const s of r.folders) describe(s).forEach((l) => out(`  ${l}`));
        }
      return EXIT.ok;
    }
    const cold = await coldFolders(root);
    if (flags.json) {
      out(JSON.stringify({ running: false, stateDir: root, folders: cold }));
      return EXIT.ok;
    }
    out(`No Ferry is running (no control socket in ${controlDir(root)}).`);
    if (!cold.length) out(`The state directory ${root} holds no synced folder yet.`);
    else out(`From the state directory ${root}:`);
    for (const f of cold)
      out(
        f.problem
          ? `  ${f.localRoot} -> ${f.remote}: ${f.problem}`
          : `  ${f.localRoot} -> ${f.remote}: ${f.files ?? 0} file(s) on the server as of ${ago(f.savedAt)}`,
      );
    return EXIT.ok;
  } finally {
    cs.forEach((c) => c.close());
  }
}

/** `ferry pause|resume [folder] [--target NAME]`: every target of the chosen folders, or the one named. */
export async function pauseResumeCommand(
  op: 'pause' | 'resume',
  folder: string | undefined,
  flags: ControlFlags & { target?: string },
): Promise<number> {
  const target = flags.target;
  const { root } = await where(flags);
  const cs = await clients(root);
  if (!cs) return EXIT.usage;
  try {
    if (!cs.length) {
      err(`No Ferry is running (no control socket in ${controlDir(root)}); there is nothing to ${op}.`);
      return EXIT.none;
    }
    let replies;
    try {
      replies = await Promise.all(
        cs.map((c) =>
          c.request({ op, ...(folder !== undefined ? { folder } : {}), ...(target !== undefined ? { target } : {}) }),
        ),
      );
    } catch (e) {
      // The running Ferry's refusal ("... has no target X; its targets are ..."), for a person.
      err((e as Error).message);
      return EXIT.usage;
    }
    const ids = replies.flatMap((r) => r.folders);
    if (!ids.length) {
      err(
        folder !== undefined
          ? `No running folder matches ${folder}. Give its local path or id (ferry status lists them).`
          : target !== undefined
            ? `No running folder has a target ${target}.`
            : `No folder is running.`,
      );
      return EXIT.none;
    }
    const remotes = replies.flatMap((r) => r.targets ?? []);
    out(
      `${op === 'pause' ? 'Paused' : 'Resumed'} ${target !== undefined ? `${[...new Set(remotes)].join(', ')} of ` : ''}${ids.length} folder(s): ${ids.map((i) => i.slice(0, 8)).join(', ')}`,
    );
    return EXIT.ok;
  } finally {
    cs.forEach((c) => c.close());
  }
}

export async function monitorCommand(flags: ControlFlags): Promise<number> {
  const { root } = await where(flags);
  const cs = await clients(root);
  if (!cs) return EXIT.usage;
  if (!cs.length) {
    err(`No Ferry is running (no control socket in ${controlDir(root)}); nothing to monitor.`);
    return EXIT.none;
  }
  const last = new Map<string, string>();
  const show = (s: WireStatus) => {
    // A change of state, sync, failures or error is a line; progress ticks are not.
    const key = JSON.stringify([
      s.state,
      s.inSync,
      s.failedItems.length,
      s.lastError ?? '',
      s.halt?.message ?? '',
      s.queued > 0,
    ]);
    if (last.get(s.id) === key) return;
    last.set(s.id, key);
    if (flags.json) out(JSON.stringify({ event: 'status', time: new Date().toISOString(), status: s }));
    else
      out(
        `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} ${describe(s)[0]}${s.lastError ? `: ${s.lastError}` : ''}`,
      );
  };
  for (const c of cs) (await c.monitor(show)).forEach(show);
  await new Promise<void>((res) => {
    const done = () => res();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    void Promise.all(cs.map((c) => c.closed)).then(() => {
      err('Every Ferry process being monitored has stopped.');
      done();
    });
  });
  cs.forEach((c) => c.close());
  return EXIT.ok;
}

export async function whyCommand(path: string, flags: ControlFlags): Promise<number> {
  const { root, ignoreOf } = await where(flags);
  const abs = resolve(path);
  const cs = await clients(root);
  if (!cs) return EXIT.usage;
  let answer: WhyAnswer | undefined;
  try {
    for (const c of cs) {
      answer = (await c.request({ op: 'why', path: abs })).answer;
      if (answer) break;
    }
  } finally {
    cs.forEach((c) => c.close());
  }
  if (!answer) {
    const folders: WhyFolder[] = (await coldFolders(root)).map((f) => ({
      id: f.id,
      localRoot: f.localRoot,
      remote: f.remote,
      stateDir: f.stateDir,
      ignore: ignoreOf(f.localRoot),
    }));
    answer = await explainPath(abs, folders, 'state-dir');
  }
  if (flags.json) out(JSON.stringify(answer));
  else out(answer.text);
  return answer.verdict === 'outside' ? EXIT.none : EXIT.ok;
}
