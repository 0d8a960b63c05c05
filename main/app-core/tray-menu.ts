/**
 * The tray menu as data: main/app turns it into an Electron Menu, tests inspect it.
 *
 * Invariants (Linux StatusNotifier/AppIndicator may not deliver icon clicks and ignores
 * tooltips, so the menu carries everything):
 * - The first item is a disabled label stating the overall state.
 * - One item per folder, labelled with its name and state, whose submenu pauses or resumes it.
 * - "Pause all" is enabled when some folder runs, "Resume all" when some folder is paused.
 * - Then Open Ferry, Open at login (a checkbox), Quit: always present, always last.
 */
import type { FolderStatus } from '../engine/status.ts';
import { shellStrings, type ShellLanguage } from './shell-strings.ts';
import { folderDisplayState, overallState, type OverallState, type TrayFolderInput } from './tray-state.ts';

export type MenuAction =
  | { type: 'pauseAll' }
  | { type: 'resumeAll' }
  | { type: 'pauseFolder'; folderId: string }
  | { type: 'resumeFolder'; folderId: string }
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
}

/** Short name of a folder for the menu: its last path segment (either separator). */
export function folderLabel(s: Pick<FolderStatus, 'localRoot'>): string {
  const parts = s.localRoot.split(/[\\/]+/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? s.localRoot;
}

export function trayModel(input: TrayMenuInput): TrayModel {
  const t = shellStrings(input.language);
  const state = overallState(input.folders);
  const title = t.overall[state];
  const items: MenuItemModel[] = [{ kind: 'label', label: title }, { kind: 'separator' }];
  if (input.folders.length === 0) items.push({ kind: 'label', label: t.noFolders });
  for (const f of input.folders) {
    const display = folderDisplayState(f.status);
    const paused = f.status.state === 'paused';
    const conflicts = f.conflictsNeedingAttention > 0 ? ` (${f.conflictsNeedingAttention} ⚠)` : '';
    items.push({
      kind: 'submenu',
      label: `${folderLabel(f.status)}: ${t.folder[display]}${conflicts}`,
      items: [
        paused
          ? { kind: 'action', label: t.resume, enabled: true, action: { type: 'resumeFolder', folderId: f.status.id } }
          : { kind: 'action', label: t.pause, enabled: true, action: { type: 'pauseFolder', folderId: f.status.id } },
      ],
    });
  }
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
