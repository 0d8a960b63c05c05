/**
 * Output of the `ferry` command. Human mode: one line per notable event and a progress line
 * on a TTY; JSON mode: exactly one JSON object per line on stdout, nothing else on stdout.
 * Secrets never reach either (statuses and outcomes carry none).
 */
import type { PlanPreview } from '../engine/preview.ts';
import { groupFailures, type FailureLike } from '../engine/failure-groups.ts';
import type { FileOutcome } from '../engine/apply-plan.ts';
import type { ConflictRecord } from '../engine/conflict-log.ts';
import type { PassReport } from '../engine/pass-report.ts';
import type { SkippedFile } from '../engine/skipped-files.ts';
import type { FolderStatus, HookReport } from '../engine/status.ts';

export interface Reporter {
  status(s: FolderStatus): void;
  synced(s: FolderStatus): void;
  /** `target`: the target's `remote` (a folder may have several). */
  file(folder: string, o: FileOutcome, target?: string): void;
  conflict(folder: string, c: ConflictRecord, target?: string): void;
  /** A pass of one target ended (see pass-report.ts). */
  pass(folder: string, r: PassReport, target?: string): void;
  /** A command after sync ended (after-sync.ts). */
  hook(folder: string, h: HookReport): void;
  /** A socket, FIFO or device found in the folder: said once per path (the caller dedupes). */
  skipped(folder: string, s: SkippedFile): void;
  /** What a dry run found would happen. */
  plan(folder: string, p: PlanPreview): void;
  error(message: string, folder?: string): void;
  info(message: string): void;
  /** Ends a progress line, if any. */
  done(): void;
}

export function jsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  const line = (o: object) => out.write(`${JSON.stringify(o)}\n`);
  /** Per folder and target: the last state said. */
  const lastState = new Map<string, string>();
  const of = (target: string | undefined) => (target !== undefined ? { target } : {});
  return {
    status(s) {
      // Every state change, not every progress tick.
      const key = `${s.state}:${s.inSync}:${s.halt?.reason ?? ''}:${s.lastError ?? ''}:${s.held?.message ?? ''}`;
      const at = `${s.id}\0${s.remote}`;
      if (key === lastState.get(at)) return;
      lastState.set(at, key);
      // Idle and in sync is synced()'s line. Idle with failed items waiting for their retry
      // is a state too: without it the last line said "scanning" while Ferry waited.
      const target = s.remote;
      if (s.state !== 'idle') line({ event: 'state', folder: s.id, target, state: s.state, status: s });
      else if (!s.inSync) line({ event: 'state', folder: s.id, target, state: 'idle', inSync: false, status: s });
    },
    synced(s) {
      line({ event: 'state', folder: s.id, target: s.remote, state: 'idle', inSync: true, status: s });
    },
    file(folder, o, target) {
      line({ event: 'file', folder, ...of(target), ...o });
    },
    conflict(folder, c, target) {
      line({ event: 'conflict', folder, ...of(target), ...c });
    },
    pass(folder, r, target) {
      line({ event: 'pass', folder, ...of(target), ...r });
    },
    hook(folder, h) {
      line({ event: 'hook', folder, ...h });
    },
    skipped(folder, s) {
      line({ event: 'skipped', folder, ...s });
    },
    plan(folder, p) {
      line({ event: 'plan', folder, ...p });
    },
    error(message, folder) {
      line({ event: 'error', ...(folder ? { folder } : {}), message });
    },
    info(message) {
      line({ event: 'info', message });
    },
    done() {
      line({ event: 'stopped' });
    },
  };
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) ((n /= 1024), i++);
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** How much the human reporter says: errors and halts only, one line per pass, or one line per file too. */
export type Detail = 'quiet' | 'normal' | 'verbose';

export interface HumanOptions {
  detail?: Detail;
  /** Name the folder on per-pass and per-path lines (several folders share the output). */
  names?: boolean;
  /** Name the target on per-pass, per-path and state lines (a folder has several). */
  targets?: boolean;
  /** Time for the plain progress lines of long passes off a terminal (a test passes its own). */
  now?: () => number;
}

/** Off a terminal, a pass still syncing after this long prints a plain progress line, and again every so often. */
export const PLAIN_PROGRESS_MS = 10_000;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function formatDuration(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** What a folder's file outcomes since its last pass line added up to. */
interface Tally {
  renamed: number;
  other: number;
  failed: number;
}

/**
 * `↑ 51 files, 1.2 MiB, 2 removed, 1 conflict, 80 ms`, or undefined for a pass that changed
 * nothing (watch mode stays quiet then).
 */
export function passLine(r: PassReport, t: Tally = { renamed: 0, other: 0, failed: 0 }): string | undefined {
  const parts = [
    ...(r.uploaded ? [`\u2191 ${plural(r.uploaded, 'file')}, ${formatBytes(r.bytes)}`] : []),
    ...(r.removed ? [`${r.removed} removed`] : []),
    ...(t.renamed ? [`${t.renamed} renamed`] : []),
    ...(t.other ? [plural(t.other, 'other change')] : []),
    ...(r.conflicts ? [plural(r.conflicts, 'conflict')] : []),
    ...(t.failed ? [`${t.failed} failed`] : []),
  ];
  return parts.length ? `${parts.join(', ')}, ${formatDuration(r.durationMs)}` : undefined;
}

export function humanReporter(out: NodeJS.WriteStream = process.stderr, options: HumanOptions = {}): Reporter {
  const detail = options.detail ?? 'normal';
  const quiet = detail === 'quiet';
  const now = options.now ?? Date.now;
  const tty = out.isTTY === true;
  let progressShown = false;
  const clear = () => {
    if (progressShown) out.write('\r\x1b[K');
    progressShown = false;
  };
  const say = (text: string) => {
    clear();
    out.write(`${text}\n`);
  };
  /** Per folder id: its local root, to name it by (from its status, which comes first). */
  const roots = new Map<string, string>();
  const named = (folder: string, text: string, target?: string) => {
    const t = options.targets && target !== undefined ? `${target}: ${text}` : text;
    return options.names ? `${roots.get(folder) ?? folder}: ${t}` : t;
  };
  /** Per folder and target: the last state said. */
  const lastState = new Map<string, string>();
  /** Per folder and target: the key its tallies and failures are kept under. */
  const keyOf = (folder: string, target: string | undefined) => `${folder}\0${target ?? ''}`;
  /** Per folder: file outcomes since the last pass line. */
  const tallies = new Map<string, Tally>();
  /** Per folder: failures since the last pass line, printed grouped by cause at its end. */
  const failures = new Map<string, FailureLike[]>();
  /** Per folder: the last error said; the same error is not said again until the folder recovers. */
  const saidError = new Map<string, string>();
  /** Per folder: "In sync" was said and nothing went wrong since (watch mode says it once, not every pass). */
  const saidInSync = new Set<string>();
  /** Per folder, off a terminal: when progress was last printed (or the pass started syncing). */
  const plain = new Map<string, number>();
  return {
    status(s) {
      roots.set(s.id, s.localRoot);
      if (s.state === 'halted' || s.state === 'error' || s.failedItems.length) saidInSync.delete(keyOf(s.id, s.remote));
      if (s.state === 'syncing' && tty && !quiet) {
        clear();
        out.write(progressText(s));
        progressShown = true;
      }
      if (!tty && !quiet) plainProgress(s);
      const key = `${s.state}:${s.halt?.reason ?? ''}:${s.lastError ?? ''}:${s.watcherMessage ?? ''}:${s.held?.output ? s.held.message : ''}`;
      const at = keyOf(s.id, s.remote);
      if (key === lastState.get(at)) return;
      lastState.set(at, key);
      const target = (text: string) => (options.targets ? `${s.remote}: ${text}` : text);
      if (s.state === 'idle' && s.inSync) saidError.delete(at);
      if (s.state === 'halted' && s.halt) say(target(`Halted: ${s.halt.message}`));
      else if (s.state === 'held' && s.held?.output) say(target(`Held: ${s.held.message}`));
      else if (s.state === 'error' && s.lastError && saidError.get(at) !== s.lastError) {
        saidError.set(at, s.lastError);
        say(target(`Error: ${s.lastError}`));
      }
      if (s.watcher === 'polling' && s.watcherMessage) say(`Warning: ${s.watcherMessage}`);
    },
    synced(s) {
      if (quiet || saidInSync.has(keyOf(s.id, s.remote))) return;
      saidInSync.add(keyOf(s.id, s.remote));
      const failed = s.failedItems.length ? `, ${s.failedItems.length} item(s) failing` : '';
      say(`In sync: ${s.localRoot} -> ${s.remote}${failed}`);
    },
    file(folder, o, target) {
      const k = keyOf(folder, target);
      if (!o.ok) failures.set(k, [...(failures.get(k) ?? []), { path: o.path, error: o.error ?? 'failed', op: o.op }]);
      else if (detail === 'verbose') say(named(folder, `${o.op} ${o.from ? `${o.from} -> ` : ''}${o.path}`, target));
      const t = tallies.get(k) ?? { renamed: 0, other: 0, failed: 0 };
      tallies.set(k, t);
      if (!o.ok) t.failed++;
      else if (o.op === 'rename') t.renamed++;
      else if (o.op !== 'upload' && o.op !== 'remove') t.other++;
    },
    conflict(folder, c, target) {
      if (quiet) return;
      if (c.action === 'origin-unknown') {
        say(named(folder, `Check ${c.path} on the server: ${c.note ?? 'whose version it holds is unknown'}`, target));
        return;
      }
      const what =
        c.action === 'kept-remote-copy'
          ? `the server's version was kept as ${c.conflictCopyPath ?? '(copy failed)'} and the local version pushed`
          : 'the local delete was not applied; the server keeps its version';
      say(named(folder, `Conflict on ${c.path}: changed on the server since the last sync; ${what}.`, target));
    },
    pass(folder, r, target) {
      const k = keyOf(folder, target);
      const t = tallies.get(k);
      tallies.delete(k);
      const failed = failures.get(k) ?? [];
      failures.delete(k);
      const describe = (f: FailureLike) => `Failed to ${f.op ?? 'sync'} ${f.path}: ${f.error}`;
      for (const line of groupFailures(failed, 50, describe)) say(named(folder, line, target));
      if (quiet || r.halted) return;
      const text = passLine(r, t);
      if (text) say(named(folder, text, target));
    },
    hook(folder, h) {
      if (h.ok && quiet) return;
      for (const line of hookLines(h)) say(named(folder, line, h.target));
    },
    skipped(folder, s) {
      if (!quiet) say(named(folder, `Skipping non-regular file: ${s.path} (${s.reason})`));
    },
    plan(folder, p) {
      for (const line of previewLines(p)) say(named(folder, line));
    },
    error(message) {
      say(`Error: ${message}`);
    },
    info(message) {
      if (!quiet) say(message);
    },
    done() {
      clear();
    },
  };

  /** Off a terminal: a plain line for a pass that has been syncing a while, then one every so often. */
  function plainProgress(s: FolderStatus): void {
    if (s.state !== 'syncing') return void plain.delete(s.id);
    const t = now();
    const last = plain.get(s.id);
    if (last === undefined) return void plain.set(s.id, t);
    if (t - last < PLAIN_PROGRESS_MS) return;
    plain.set(s.id, t);
    say(progressText(s));
  }
}

/** A command after sync in words: what ran where, how it ended, and a failure's last output lines. */
export function hookLines(h: HookReport): string[] {
  const where = h.where === 'remote' ? 'on the server' : 'locally';
  const took = formatDuration(h.durationMs);
  const files = plural(h.changed, 'changed path');
  if (h.ok) return [`Ran ${where} after sync (${files}): ${h.command} (exit 0, ${took})`];
  const how = h.timedOut
    ? `timed out after ${took} and was ended`
    : h.error
      ? `could not run: ${h.error}`
      : h.exitCode === null
        ? `was ended by ${h.signal ?? 'a signal'} after ${took}`
        : `exited ${h.exitCode} after ${took}`;
  return [
    `Command after sync failed ${where}: ${h.command} ${how}. The files are synced; the target shows "command failed" until its next pass.`,
    ...h.output.map((l) => `  | ${l}`),
  ];
}

function progressText(s: FolderStatus): string {
  const rate = s.throughputBps ? `, ${formatBytes(s.throughputBps)}/s` : '';
  return `Syncing ${s.localRoot}: ${s.filesDone}/${s.filesTotal} items, ${formatBytes(s.bytesDone)} of ${formatBytes(s.bytesTotal)}${rate}`;
}

/** A dry run's result in words: the totals, then up to 50 paths of each kind. */
export function previewLines(p: PlanPreview): string[] {
  if (p.halt) return [`Dry run: this sync would halt. ${p.halt.message}`];
  const n = (count: number, one: string, many = `${one}s`) =>
    `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
  const parts = [
    `upload ${n(p.uploads.count, 'file')} (${formatBytes(p.uploads.bytes)})`,
    p.removes.count ? `delete ${n(p.removes.files, 'file')} on the server` : 'delete nothing on the server',
    ...(p.renames.count ? [`rename ${n(p.renames.count, 'entry', 'entries')}`] : []),
    ...(p.conflictCopies.count
      ? [`keep ${n(p.conflictCopies.count, 'server version')} that differ as conflict copies`]
      : []),
    ...(p.otherChanges ? [`make ${n(p.otherChanges, 'other change')}`] : []),
  ];
  const lines = [`Dry run (nothing was changed): Ferry would ${parts.join(', ')}.`];
  const list = (label: string, paths: string[], count: number) => {
    for (const path of paths) lines.push(`  ${label} ${path}`);
    if (count > paths.length) lines.push(`  ... and ${count - paths.length} more to ${label}`);
  };
  list('upload', p.uploads.paths, p.uploads.count);
  list('delete', p.removes.paths, p.removes.count);
  for (const r of p.renames.paths) lines.push(`  rename ${r.from} -> ${r.to}`);
  if (p.renames.count > p.renames.paths.length)
    lines.push(`  ... and ${p.renames.count - p.renames.paths.length} more to rename`);
  list('keep as a conflict copy', p.conflictCopies.paths, p.conflictCopies.count);
  return lines;
}
