/**
 * The tray menu as data: main/app turns it into an Electron Menu, tests inspect it.
 *
 * Invariants (Linux StatusNotifier/AppIndicator may not deliver icon clicks and ignores
 * tooltips, so the menu carries everything):
 * - The first item is a disabled label stating the overall state.
 * - One item per folder, labelled with its name, state and unresolved conflicts, whose
 *   submenu says when it last synced (and its rate while syncing), then offers Sync now, Open
 *   folder, its conflict log, Pause/Resume and the timed pauses (1 hour, tomorrow 08:00).
 * - "Pause all" is enabled when some folder runs, "Resume all" when some folder is paused.
 * - Then Open Ferry, Open at login (a checkbox), Quit: always present, always last.
 */
import type { FolderStatus } from '../engine/status.ts';
import { clockTime, fill, formatRate, relativeTime, shellStrings, type ShellLanguage } from './shell-strings.ts';
import { pauseChoices } from './timed-pause.ts';
import {
  folderDisplayState,
  overallState,
  pausedServers,
  pausedServersOverall,
  type OverallState,
  type TrayFolderInput,
} from './tray-state.ts';

export type MenuAction =
  | { type: 'pauseAll' }
  | { type: 'resumeAll' }
  | { type: 'pauseFolder'; folderId: string }
  | { type: 'resumeFolder'; folderId: string }
  | { type: 'pauseFolderUntil'; folderId: string; until: string }
  | { type: 'syncNow'; folderId: string }
  | { type: 'openFolder'; folderId: string }
  | { type: 'showConflicts'; folderId: string }
  | { type: 'openWindow' }
  | { type: 'toggleOpenAtLogin' }
  | { type: 'quit' };

export type MenuItemModel =
  | { kind: 'label'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; label: string; enabled: boolean; action: MenuAction }
  | { kind: 'checkbox'; label: string; checked: boolean; action: MenuAction }
  | { kind: 'submenu'; label: string; items: MenuItemModel[] };

export interface TrayModel {
  state: OverallState;
  /** Also the tooltip, where the platform shows one. */
  title: string;
  items: MenuItemModel[];
}

export interface TrayMenuInput {
  folders: readonly TrayFolderInput[];
  openAtLogin: boolean;
  language: ShellLanguage;
  /** The clock for relative times (the shell rebuilds the menu every minute). */
  now?: number;
}

/** Short name of a folder for the menu: its last path segment (either separator). */
export function folderLabel(s: Pick<FolderStatus, 'localRoot'>): string {
  const parts = s.localRoot.split(/[\\/]+/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? s.localRoot;
}

export function trayModel(input: TrayMenuInput): TrayModel {
  const t = shellStrings(input.language);
  const state = overallState(input.folders);
  // No folders is not "everything in sync": the first line says there is nothing yet.
  const counts = (p: { count: number; total: number }) => ({ count: String(p.count), total: String(p.total) });
  const title =
    input.folders.length === 0
      ? `Ferry: ${t.noFolders}`
      : fill(t.overall[state], counts(pausedServersOverall(input.folders)));
  const items: MenuItemModel[] = [{ kind: 'label', label: title }];
  if (input.folders.length > 0) items.push({ kind: 'separator' });
  const now = input.now ?? Date.now();
  for (const f of input.folders) items.push(folderMenu(f, t, input.language, now));
  const anyRunning = input.folders.some((f) => f.status.state !== 'paused');
  const anyPaused = input.folders.some((f) => f.status.state === 'paused');
  items.push(
    { kind: 'separator' },
    { kind: 'action', label: t.pauseAll, enabled: anyRunning, action: { type: 'pauseAll' } },
    { kind: 'action', label: t.resumeAll, enabled: anyPaused, action: { type: 'resumeAll' } },
    { kind: 'separator' },
    { kind: 'action', label: t.openFerry, enabled: true, action: { type: 'openWindow' } },
    { kind: 'checkbox', label: t.openAtLogin, checked: input.openAtLogin, action: { type: 'toggleOpenAtLogin' } },
    { kind: 'action', label: t.quit, enabled: true, action: { type: 'quit' } },
  );
  return { state, title, items };
}

function folderMenu(
  f: TrayFolderInput,
  t: ReturnType<typeof shellStrings>,
  lang: ShellLanguage,
  now: number,
): MenuItemModel {
  const s = f.status;
  const id = s.id;
  const display = folderDisplayState(s);
  const paused = s.state === 'paused';
  const unresolved = f.conflictsNeedingAttention;
  const when = s.lastSyncAt ? fill(t.lastSynced, { time: relativeTime(s.lastSyncAt, now, lang) }) : t.neverSynced;
  const rate =
    s.state === 'syncing' && s.throughputBps > 0 ? ` · ${fill(t.rate, { rate: formatRate(s.throughputBps) })}` : '';
  const choices = pauseChoices(new Date(now));
  const act = (label: string, action: MenuAction, enabled = true): MenuItemModel => ({
    kind: 'action',
    label,
    enabled,
    action,
  });
  const items: MenuItemModel[] = [{ kind: 'label', label: when + rate }];
  if (paused && f.pausedUntil)
    items.push({ kind: 'label', label: fill(t.pausedUntil, { time: clockTime(new Date(f.pausedUntil), lang) }) });
  items.push(
    { kind: 'separator' },
    act(t.syncNow, { type: 'syncNow', folderId: id }, !paused && s.state !== 'halted'),
    act(t.openFolder, { type: 'openFolder', folderId: id }),
    act(unresolved > 0 ? fill(t.conflicts, { count: String(unresolved) }) : t.conflictLog, {
      type: 'showConflicts',
      folderId: id,
    }),
    { kind: 'separator' },
    paused
      ? act(t.resume, { type: 'resumeFolder', folderId: id })
      : act(t.pause, { type: 'pauseFolder', folderId: id }),
  );
  if (!paused)
    items.push(
      act(t.pauseHour, { type: 'pauseFolderUntil', folderId: id, until: choices.hour.toISOString() }),
      act(fill(t.pauseTomorrow, { time: clockTime(choices.tomorrow, lang) }), {
        type: 'pauseFolderUntil',
        folderId: id,
        until: choices.tomorrow.toISOString(),
      }),
    );
  const conflicts = unresolved > 0 ? ` (${unresolved} ⚠)` : '';
  const p = pausedServers(s);
  const word = fill(t.folder[display], { count: String(p.count), total: String(p.total) });
  return { kind: 'submenu', label: `${folderLabel(s)}: ${word}${conflicts}`, items };
}
