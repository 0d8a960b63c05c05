/**
 * One folder's card. Built once and then updated in place on every status event, so focus
 * and an opened "failed items" list survive the frequent updates.
 */
import type { FolderEntry, FolderStatus } from '../main/ipc/contract.ts';
import { folderDisplayState, type FolderDisplayState } from '../main/app-core/tray-state.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { formatBytes, formatTime } from './format.ts';
import { t } from './i18n.ts';

export interface CardActions {
  pause(id: string): void;
  resume(id: string): void;
  remove(id: string, localPath: string): void;
  retry(id: string): void;
  confirmDeletes(id: string): void;
  cancelDeletes(id: string): void;
  provideSecret(id: string, secret: string): void;
  showConflicts(id: string, localPath: string): void;
}

export const STATE_ICON: Record<FolderDisplayState, string> = {
  'in-sync': '✓',
  syncing: '↻',
  paused: 'Ⅱ',
  error: '!',
  halted: '■',
  starting: '…',
};

function folderName(path: string): string {
  const parts = path.split(/[\\/]+/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? path;
}

export class FolderCard {
  readonly el: HTMLElement;
  private entry: FolderEntry;
  private readonly actions: CardActions;
  private readonly icon = h('span', { class: 'state-icon', 'aria-hidden': 'true' });
  private readonly stateText = h('span', { class: 'state-text' });
  private readonly progress = h('progress', { max: 1, value: 0 });
  private readonly progressText = h('span', { class: 'progress-text' });
  private readonly progressBox = h('div', { class: 'progress' }, this.progress, this.progressText);
  private readonly lastSynced = h('p', { class: 'last-synced' });
  private readonly sessionNote = h('p', { class: 'muted session-note', hidden: true });
  private readonly problem = h('div', { class: 'problem', role: 'alert', hidden: true });
  private readonly failedSummary = h('summary');
  private readonly failedList = h('ul', { class: 'failed-list' });
  private readonly failed = h('details', { class: 'failed' });
  private readonly conflictButton = h('button', { type: 'button', class: 'conflicts-button' });
  private readonly pauseButton = h('button', { type: 'button', class: 'pause-button' });
  private readonly removeButton = h('button', { type: 'button', class: 'remove-button danger' });

  constructor(entry: FolderEntry, actions: CardActions) {
    this.entry = entry;
    this.actions = actions;
    const titleId = uid('folder-title');
    const retry = h(
      'button',
      { type: 'button', class: 'retry-button', onclick: () => this.actions.retry(this.entry.id) },
      t('retryNow'),
    );
    this.failed.append(this.failedSummary, this.failedList, retry);
    this.conflictButton.addEventListener('click', () =>
      this.actions.showConflicts(this.entry.id, this.entry.localPath),
    );
    this.pauseButton.addEventListener('click', () =>
      this.entry.status.state === 'paused' ? this.actions.resume(this.entry.id) : this.actions.pause(this.entry.id),
    );
    this.removeButton.addEventListener('click', () => this.actions.remove(this.entry.id, this.entry.localPath));
    this.removeButton.textContent = t('remove');
    this.el = h(
      'article',
      { class: 'card', 'data-folder-id': entry.id, 'aria-labelledby': titleId },
      h('header', {}, this.icon, h('h2', { id: titleId }, folderName(entry.localPath)), this.stateText),
      h(
        'p',
        { class: 'paths' },
        h('span', { class: 'local', title: entry.localPath }, entry.localPath),
        ' ',
        h('span', { class: 'remote' }, t('remoteLabel', { remote: entry.status.remote })),
        ' · ',
        h('span', { class: 'mode' }, t(`mode.${entry.mode}`)),
      ),
      this.progressBox,
      this.lastSynced,
      this.sessionNote,
      this.problem,
      this.failed,
      h('footer', {}, this.conflictButton, h('span', { class: 'spacer' }), this.pauseButton, this.removeButton),
    );
    this.update(entry);
  }

  update(entry: FolderEntry): void {
    this.entry = entry;
    const s = entry.status;
    const display = folderDisplayState(s);
    this.el.dataset.state = display;
    this.icon.textContent = STATE_ICON[display];
    this.stateText.textContent = t(`state.${display}`);

    const transferring = s.state === 'syncing' && s.filesTotal > 0;
    this.progressBox.hidden = !transferring;
    if (transferring) {
      this.progress.max = Math.max(1, s.bytesTotal || s.filesTotal);
      this.progress.value = s.bytesTotal ? s.bytesDone : s.filesDone;
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
    this.lastSynced.textContent = s.lastSyncAt ? t('lastSynced', { time: formatTime(s.lastSyncAt) }) : t('neverSynced');

    this.renderProblem(s, display);

    this.failed.hidden = s.failedItems.length === 0;
    this.failedSummary.textContent = t('failedItems', { count: s.failedItems.length });
    replaceChildren(
      this.failedList,
      ...s.failedItems
        .slice(0, 50)
        .map((f) =>
          h(
            'li',
            {},
            h('code', {}, f.path),
            ': ',
            f.error,
            h(
              'span',
              { class: 'muted' },
              ` (${t('nextRetry', { attempts: f.attempts, time: formatTime(f.nextRetryAt) })})`,
            ),
          ),
        ),
    );

    this.conflictButton.textContent =
      s.conflictCount > 0 ? `⚠ ${t('conflicts', { count: s.conflictCount })}` : t('showConflicts');
    this.conflictButton.classList.toggle('attention', s.conflictCount > 0);
    this.pauseButton.textContent = s.state === 'paused' ? t('resume') : t('pause');
  }

  private problemKey = '';

  /** Rebuilt only when what it says changes, so a focused button in it stays focused. */
  private renderProblem(s: FolderStatus, display: FolderDisplayState): void {
    const needs = this.entry.needsSecret;
    const key = needs
      ? `needs:${needs}`
      : display === 'halted'
        ? `halted:${s.halt?.reason}:${s.halt?.message}`
        : display === 'error' && s.lastError
          ? `error:${s.lastError}`
          : '';
    if (key === this.problemKey) return;
    this.problemKey = key;
    const id = this.entry.id;
    if (needs) {
      const inputId = uid('secret');
      const input = h('input', { id: inputId, type: 'password', autocomplete: 'off', required: true });
      const form = h(
        'form',
        {
          class: 'secret-form',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            if (input.value) this.actions.provideSecret(id, input.value);
          },
        },
        h('label', { for: inputId }, t(needs === 'password' ? 'secret.password' : 'secret.passphrase')),
        input,
        h('button', { type: 'submit', class: 'primary' }, t('secret.start')),
      );
      replaceChildren(this.problem, h('strong', {}, t('secret.title')), h('p', {}, s.lastError ?? ''), form);
      this.problem.hidden = false;
    } else if (display === 'halted' && s.halt) {
      const buttons =
        s.halt.reason === 'root-missing'
          ? [
              h(
                'button',
                { type: 'button', class: 'primary', onclick: () => this.actions.resume(id) },
                t('halt.root-missing'),
              ),
            ]
          : [
              h(
                'button',
                { type: 'button', class: 'danger', onclick: () => this.actions.confirmDeletes(id) },
                t('halt.confirm'),
              ),
              s.mode === 'push'
                ? h(
                    'button',
                    { type: 'button', onclick: () => this.actions.cancelDeletes(id) },
                    t('halt.cancelDeletes'),
                  )
                : h('button', { type: 'button', onclick: () => this.actions.pause(id) }, t('halt.keepPaused')),
            ];
      replaceChildren(
        this.problem,
        h('strong', {}, t('haltedTitle')),
        h('p', {}, s.halt.message),
        h('div', { class: 'actions' }, ...buttons),
      );
      this.problem.hidden = false;
    } else if (display === 'error' && s.lastError) {
      replaceChildren(
        this.problem,
        h('strong', {}, t('errorTitle')),
        h('p', { class: 'error-text' }, s.lastError),
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', onclick: () => this.actions.retry(id) }, t('retryNow')),
        ),
      );
      this.problem.hidden = false;
    } else {
      this.problem.hidden = true;
      this.problem.replaceChildren();
    }
  }
}
