/**
 * One folder's card. Built once and then updated in place on every status event, so focus
 * and opened lists survive the frequent updates; when an update removes what had focus (a
 * halt decided, a recovery), focus moves to the card's Pause/Resume button, never the page.
 *
 * Sized for several targets: the target line is one row of the card (`.targets`), so more
 * targets become more rows, not a new card.
 */
import type { FolderEntry, TrashItem, TrashListing, WhyResult } from '../main/ipc/contract.ts';
import { folderDisplayState, pausedServers, type FolderDisplayState } from '../main/app-core/tray-state.ts';
import { CardDetails } from './card-details.ts';
import { ProblemPanel, type ProblemActions } from './card-problem.ts';
import { h, uid } from './dom.ts';
import { FailedItems } from './failed-items.ts';
import { TargetRows } from './target-rows.ts';
import { TrashPanel } from './trash-panel.ts';
import { focusFirst, focusLost } from './focus.ts';
import { formatBytes } from './format.ts';
import { t } from './i18n.ts';

export interface CardActions extends ProblemActions {
  remove(id: string, localPath: string): void;
  showConflicts(id: string, localPath: string): void;
  edit(entry: FolderEntry): void;
  addServer(entry: FolderEntry): void;
  /** One server's commands after sync (its row's Commands…, a held rollout's Edit). */
  targetCommands(entry: FolderEntry, target: string): void;
  pauseTarget(id: string, target: string): void;
  resumeTarget(id: string, target: string): void;
  /** Asks first; afterwards focus goes to the card's Add server button. */
  removeTarget(entry: FolderEntry, target: string): void;
  syncNow(id: string): void;
  openFolder(id: string): void;
  openFile(id: string, path: string): void;
  ignorePath(id: string, path: string): void;
  copy(text: string): void;
  why(id: string, path: string): Promise<WhyResult | undefined>;
  retryPath(id: string, path: string): void;
  listTrash(id: string): Promise<TrashListing | undefined>;
  restoreFromTrash(id: string, item: TrashItem): Promise<void>;
}

export const STATE_ICON: Record<FolderDisplayState, string> = {
  'in-sync': '✓',
  syncing: '↻',
  paused: 'Ⅱ',
  'partly-paused': 'Ⅱ',
  held: '■',
  error: '!',
  halted: '■',
  starting: '…',
};

/** Paused as a whole: every target paused (one paused server of several is not the folder paused). */
export function folderPaused(s: FolderEntry['status']): boolean {
  return s.targets?.length ? s.targets.every((x) => x.state === 'paused') : s.state === 'paused';
}

/** The Add server button of the card of folder `id` (where focus goes after a server is removed). */
export function addServerButton(id: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(`.card[data-folder-id="${CSS.escape(id)}"] .add-server-button`);
}

export function folderName(path: string): string {
  const parts = path.split(/[\\/]+/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? path;
}

export class FolderCard {
  readonly el: HTMLElement;
  private entry: FolderEntry;
  private readonly actions: CardActions;
  private readonly icon = h('span', { class: 'state-icon', 'aria-hidden': 'true' });
  private readonly stateText = h('span', { class: 'state-text' });
  private readonly remote = h('span', { class: 'remote' });
  private readonly mode = h('span', { class: 'mode' });
  private readonly progress = h('progress', { max: 1, value: 0 });
  private readonly progressText = h('span', { class: 'progress-text' });
  private readonly progressBox = h('div', { class: 'progress' }, this.progress, this.progressText);
  private readonly sessionNote = h('p', { class: 'muted session-note', hidden: true });
  private readonly details = new CardDetails();
  private readonly problem: ProblemPanel;
  private readonly failed: FailedItems;
  private readonly trash: TrashPanel;
  private readonly targetRows: TargetRows;
  private readonly conflictButton = h('button', { type: 'button', class: 'conflicts-button' });
  private readonly syncButton = h('button', { type: 'button', class: 'sync-now' }, t('syncNow'));
  private readonly pauseButton = h('button', { type: 'button', class: 'pause-button' });
  private readonly whyAnswer = h('p', { class: 'why-answer', role: 'status' });

  constructor(entry: FolderEntry, actions: CardActions) {
    this.entry = entry;
    this.actions = actions;
    this.problem = new ProblemPanel({
      ...actions,
      editCommands: (target) => actions.targetCommands(this.entry, target),
    });
    const id = () => this.entry.id;
    this.targetRows = new TargetRows({
      commands: (target) => actions.targetCommands(this.entry, target),
      pause: (target) => actions.pauseTarget(id(), target),
      resume: (target) => actions.resumeTarget(id(), target),
      remove: (target) => actions.removeTarget(this.entry, target),
    });
    this.failed = new FailedItems({
      retry: () => actions.retry(id()),
      retryPath: (p) => actions.retryPath(id(), p),
      ignore: (p) => actions.ignorePath(id(), p),
      open: (p) => actions.openFile(id(), p),
      copy: (text) => actions.copy(text),
    });
    this.trash = new TrashPanel({
      list: () => actions.listTrash(id()),
      restore: (item) => actions.restoreFromTrash(id(), item),
    });
    const titleId = uid('folder-title');
    this.conflictButton.addEventListener('click', () => actions.showConflicts(id(), this.entry.localPath));
    this.syncButton.addEventListener('click', () => actions.syncNow(id()));
    this.pauseButton.addEventListener('click', () =>
      folderPaused(this.entry.status) ? actions.resume(id()) : actions.pause(id()),
    );
    const button = (cls: string, label: string, onclick: () => void) =>
      h('button', { type: 'button', class: cls, onclick }, label);
    this.el = h(
      'article',
      { class: 'card', 'data-folder-id': entry.id, 'aria-labelledby': titleId },
      h('header', {}, this.icon, h('h2', { id: titleId }, folderName(entry.localPath)), this.stateText),
      h(
        'p',
        { class: 'paths' },
        h('span', { class: 'local', title: entry.localPath }, entry.localPath),
        h('span', { class: 'targets' }, ' ', this.remote, ' · ', this.mode),
      ),
      this.targetRows.el,
      this.details.el,
      this.progressBox,
      this.sessionNote,
      this.problem.el,
      this.failed.el,
      this.trash.el,
      this.whyForm(),
      h(
        'footer',
        {},
        this.conflictButton,
        h('span', { class: 'spacer' }),
        this.syncButton,
        button('open-folder', t('openFolder'), () => actions.openFolder(id())),
        button('edit-button', t('edit'), () => actions.edit(this.entry)),
        button('add-server-button', t('addServer'), () => actions.addServer(this.entry)),
        this.pauseButton,
        button('remove-button danger', t('remove'), () => actions.remove(id(), this.entry.localPath)),
      ),
    );
    this.update(entry);
  }

  update(entry: FolderEntry): void {
    const hadFocus = this.el.contains(document.activeElement);
    this.entry = entry;
    const s = entry.status;
    const display = folderDisplayState(s);
    this.el.dataset.state = display;
    this.icon.textContent = STATE_ICON[display];
    const notSynced = display === 'error' && s.state === 'idle' && s.failedItems.length > 0;
    this.stateText.textContent = notSynced
      ? t(s.failedItems.length === 1 ? 'notSyncedOne' : 'notSynced', { count: s.failedItems.length })
      : display === 'partly-paused'
        ? t('pausedSome', pausedServers(s))
        : t(`state.${display}`);
    this.remote.textContent = t('remoteLabel', { remote: s.remote });
    this.mode.textContent = t(`mode.${entry.mode}`);

    const transferring = s.state === 'syncing' && s.filesTotal > 0;
    this.progressBox.hidden = !transferring;
    if (transferring) {
      this.progress.max = Math.max(1, s.bytesTotal || s.filesTotal);
      this.progress.value = s.bytesTotal ? s.bytesDone : s.filesDone;
      this.progress.setAttribute('aria-label', t('progressLabel'));
      this.progressText.textContent = t('progress', {
        done: s.filesDone,
        total: s.filesTotal,
        bytesDone: formatBytes(s.bytesDone),
        bytesTotal: formatBytes(s.bytesTotal),
        rate: formatBytes(s.throughputBps),
      });
    }
    this.sessionNote.hidden = !entry.secretSessionOnly;
    this.sessionNote.textContent = entry.secretSessionOnly ? t('secret.sessionOnly') : '';
    this.details.update(entry);
    this.targetRows.update(s);
    this.problem.update(entry, display);
    this.failed.update(s.failedItems);
    this.trash.update(!!entry.trashDays);

    const n = entry.unresolvedConflicts;
    this.conflictButton.textContent =
      n > 0 ? `⚠ ${t(n === 1 ? 'unresolvedOne' : 'unresolved', { count: n })}` : t('showConflicts');
    this.conflictButton.classList.toggle('attention', n > 0);
    this.syncButton.disabled = folderPaused(s) || s.state === 'halted' || !!entry.needsSecret;
    this.pauseButton.textContent = folderPaused(s) ? t('resume') : t('pause');
    if (hadFocus && focusLost()) focusFirst(this.failed.el.hidden ? null : this.failed.summary, this.pauseButton);
  }

  /** The latest transfer of this folder (from the activity feed). */
  changed(time: string): void {
    this.details.changed(time);
  }

  tick(): void {
    this.details.tick();
  }

  private whyForm(): HTMLElement {
    const inputId = uid('why');
    const input = h('input', { id: inputId, type: 'text', spellcheck: 'false', placeholder: 'docs/readme.md' });
    const form = h(
      'form',
      {
        class: 'why-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const path = input.value.trim();
          if (!path) return void input.focus();
          void this.actions.why(this.entry.id, path).then((r) => {
            this.whyAnswer.textContent = r?.text ?? '';
            if (r) this.whyAnswer.dataset.verdict = r.verdict;
          });
        },
      },
      h('label', { for: inputId }, t('whyPath')),
      h('div', { class: 'row' }, input, h('button', { type: 'submit' }, t('whyExplain'))),
      this.whyAnswer,
    );
    return h('details', { class: 'why' }, h('summary', {}, t('whyTitle')), form);
  }
}
