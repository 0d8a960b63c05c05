/**
 * `ferry why <path>`: one paragraph on why a local path is, or is not, on the server. The
 * same answer from a running Ferry (its folders, their live status) and cold from the state
 * directory (the index each folder saved; no live status, no --ignore patterns).
 *
 * In order: outside every folder; ignored (the rule and where it was written); failed (the
 * last error, attempts, next retry); synced (the index holds exactly what the folder holds);
 * held (it differs, but the folder is halted or paused); waiting (it differs: queued or in
 * flight, or sent when Ferry next runs); absent (neither here nor in the index).
 *
 * A folder with several targets is answered per target (each has its own index and status):
 * one line naming each target's verdict ("web1: synced; web2: held (paused)"), then each
 * target's paragraph. The folder's verdict is the least settled of theirs.
 */
import { lstat, readFile, readlink } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { isWithin, type Entry } from '../core/tree.ts';
import { folderStateFiles } from '../engine/folder-config.ts';
import { createIgnoreMatcher, loadFerryignore } from '../engine/ignore.ts';
import { loadIndex } from '../engine/index-store.ts';
import type { FolderStatus } from '../engine/status.ts';
import type { WhyAnswer, WhyVerdict } from './protocol.ts';
import { targetLabels } from './targets.ts';

export interface WhyFolder {
  id: string;
  localRoot: string;
  remote: string;
  /** The folder's own state directory (index.json). */
  stateDir: string;
  /** Patterns given with --ignore or in the config; unknown (undefined) cold. */
  ignore: readonly string[] | undefined;
  /** The live status, from a running Ferry. */
  status?: FolderStatus;
  /** With several targets (a running Ferry): each target's remote, state directory and status. */
  targets?: { remote: string; stateDir: string; status: FolderStatus }[];
  /** Set on one target's view of a folder: its short name, for the pause hint. */
  label?: string;
}

/** Least settled first: the verdict a folder with several targets takes. */
const UNSETTLED: readonly WhyVerdict[] = ['failed', 'held', 'waiting', 'absent', 'synced', 'ignored', 'outside'];

function formatSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) ((n /= 1024), i++);
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

/** The folder `abs` lies in (the innermost, should folders nest). */
export function folderOf<F extends { localRoot: string }>(abs: string, folders: readonly F[]): F | undefined {
  return folders
    .filter((f) => abs === f.localRoot || abs.startsWith(f.localRoot.endsWith(sep) ? f.localRoot : f.localRoot + sep))
    .sort((a, b) => b.localRoot.length - a.localRoot.length)[0];
}

async function localEntry(abs: string): Promise<Entry | undefined> {
  const st = await lstat(abs).catch(() => undefined);
  if (!st) return undefined;
  if (st.isDirectory()) return { kind: 'dir', mode: st.mode & 0o7777 };
  if (st.isSymbolicLink()) return { kind: 'symlink', target: await readlink(abs) };
  return { kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o7777 };
}

function same(index: Entry, local: Entry): boolean {
  if (index.kind !== local.kind) return false;
  if (index.kind === 'file' && local.kind === 'file')
    return index.size === local.size && index.mtimeMs === local.mtimeMs;
  if (index.kind === 'symlink' && local.kind === 'symlink') return index.target === local.target;
  return true;
}

async function savedAt(file: string): Promise<string | undefined> {
  // The head of the file only: savedAt comes before the entries.
  const head = (await readFile(file, 'utf8').catch(() => '')).slice(0, 4096);
  return /"savedAt":"([^"]+)"/.exec(head)?.[1];
}

/** Explains `path` (absolute, or relative to the current directory) against `folders`. */
export async function explainPath(
  path: string,
  folders: readonly WhyFolder[],
  source: WhyAnswer['source'],
): Promise<WhyAnswer> {
  const abs = resolve(path);
  const f = folderOf(abs, folders);
  if (!f?.targets || f.targets.length < 2) return explainOne(abs, f, folders, source);
  const labels = targetLabels(f.targets.map((t) => t.remote));
  const each = await Promise.all(
    f.targets.map((t, i) => {
      const { targets: _all, ...one } = f;
      const view: WhyFolder = { ...one, remote: t.remote, stateDir: t.stateDir, status: t.status, label: labels[i] };
      return explainOne(abs, view, folders, source);
    }),
  );
  const first = each[0] as WhyAnswer;
  // Ignore rules are the folder's: every target says the same.
  if (first.verdict === 'ignored')
    return { ...first, folder: { ...(first.folder as NonNullable<WhyAnswer['folder']>), remote: f.remote } };
  const word = (a: WhyAnswer, i: number) => {
    const st = f.targets?.[i]?.status.state;
    const why = st === 'paused' || st === 'halted' ? ` (${st})` : '';
    return `${labels[i]}: ${a.verdict}${why}`;
  };
  const rel = relative(f.localRoot, abs).split(sep).join('/') || f.localRoot;
  return {
    path: abs,
    verdict: UNSETTLED.find((v) => each.some((a) => a.verdict === v)) ?? first.verdict,
    folder: { id: f.id, localRoot: f.localRoot, remote: f.remote },
    source,
    text: [`${rel} (in ${f.localRoot}): ${each.map(word).join('; ')}.`, ...each.map((a) => `  ${a.text}`)].join('\n'),
    targets: each.map((a, i) => ({
      target: f.targets?.[i]?.remote ?? '',
      label: labels[i] ?? '',
      verdict: a.verdict,
      text: a.text,
    })),
  };
}

/** Explains `abs` for the one folder (or one target's view of it) `f` it lies in. */
async function explainOne(
  abs: string,
  f: WhyFolder | undefined,
  folders: readonly WhyFolder[],
  source: WhyAnswer['source'],
): Promise<WhyAnswer> {
  if (!f) {
    const roots = folders.map((x) => x.localRoot);
    return {
      path: abs,
      verdict: 'outside',
      source,
      text: `${abs} is outside every folder Ferry knows${roots.length ? ` (${roots.join(', ')})` : ''}${source === 'state-dir' ? ' in this state directory' : ''}, so Ferry does not sync it. Sync a folder that contains it, or check the path.`,
    };
  }
  const folder = { id: f.id, localRoot: f.localRoot, remote: f.remote };
  const rel = relative(f.localRoot, abs).split(sep).join('/');
  const name = rel === '' ? f.localRoot : rel;
  const answer = (verdict: WhyAnswer['verdict'], text: string): WhyAnswer => ({
    path: abs,
    verdict,
    folder,
    source,
    text: `${name} (in ${f.localRoot} -> ${f.remote}) ${text}`,
  });
  const local = await localEntry(abs);

  const matcher = createIgnoreMatcher({
    patterns: [...(f.ignore ?? [])],
    ferryignoreText: await loadFerryignore(f.localRoot).catch(() => ''),
  });
  const ignored = matcher.explain(rel, local?.kind === 'dir');
  if (ignored)
    return answer(
      'ignored',
      `is ignored by the rule "${ignored.rule}" from ${ignored.origin}. Ferry never sends it, and leaves any copy on the server alone. To sync it, remove or negate that rule (a line "!${rel.split('/').pop() ?? rel}" after it).`,
    );

  const status = f.status;
  const failed = status?.failedItems.find((x) => isWithin(rel, x.path));
  if (failed)
    return answer(
      'failed',
      `failed to sync${failed.path !== rel ? ` (with ${failed.path})` : ''}: ${failed.error}. Tried ${failed.attempts} time(s); the next retry is at ${failed.nextRetryAt}${status?.state === 'paused' ? ' once the folder is resumed' : ''}.`,
    );

  let index: Map<string, Entry> | undefined;
  try {
    index = await loadIndex(folderStateFiles(f.stateDir).index);
  } catch (err) {
    return answer('waiting', `cannot be checked: ${(err as Error).message}`);
  }
  const known = index?.get(rel);
  const when = (await savedAt(folderStateFiles(f.stateDir).index)) ?? 'an unknown time';
  const coldNote =
    source === 'state-dir'
      ? ` (Ferry is not running; this is from the index it saved${f.ignore === undefined ? ', and patterns given with --ignore are not known' : ''}.)`
      : '';

  if (local && known && same(known, local)) {
    let what: string;
    if (known.kind === 'file')
      what = `a file of ${formatSize(known.size)}, SHA-256 ${known.hash ?? 'not recorded'}, modified ${new Date(known.mtimeMs).toISOString()} (the mtime Ferry set on the server)`;
    else if (known.kind === 'symlink') what = `a symbolic link to ${known.target}`;
    else what = 'a folder';
    const halted = status?.state === 'halted' ? ` The folder is halted, though: ${status.halt?.message ?? ''}` : '';
    return answer(
      'synced',
      `is synced: the server holds it as ${what}, as recorded in the index at ${when}.${halted}${coldNote}`,
    );
  }
  if (!local && !known)
    return answer(
      'absent',
      `does not exist here, and Ferry has no record of it on the server. There is nothing to sync.${coldNote}`,
    );

  const change = !known
    ? 'is new since the last sync'
    : !local
      ? 'was deleted here since the last sync; the delete has not reached the server'
      : known.kind !== local.kind
        ? `changed from a ${known.kind} to a ${local.kind} since the last sync`
        : 'changed since the last sync';
  if (status?.state === 'halted')
    return answer(
      'held',
      `${change}, but is held back: the folder is halted. ${status.halt?.message ?? ''} Nothing moves until that is resolved (ferry resume, or confirm in the app).`,
    );
  if (status?.state === 'paused')
    return answer(
      'held',
      f.label !== undefined
        ? `${change}, but is held back: this target is paused. Run ferry resume --target ${f.label} to send it.`
        : `${change}, but is held back: the folder is paused. Run ferry resume to send it.`,
    );
  if (!status)
    return answer(
      'waiting',
      `${change}. Ferry will send it when it next runs for this folder (nothing is running now).${coldNote}`,
    );
  const now =
    status.state === 'syncing'
      ? `a pass is running now (${status.filesDone}/${status.filesTotal} items done), so it is in flight or next in line`
      : status.state === 'error'
        ? `the folder cannot reach the server right now (${status.lastError ?? 'error'}); it is sent after reconnecting`
        : 'it is queued for the next pass (file events are batched for a moment; a full rescan also finds it)';
  return answer('waiting', `${change} and is waiting: ${now}.`);
}
