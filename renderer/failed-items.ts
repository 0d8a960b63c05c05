/**
 * A card's failed items: "2 files not synced", each with its error and next retry, and
 * per row Retry (that path only), Ignore (adds an ignore pattern for exactly that path), Open and Copy error.
 * Rebuilt only when the list changes, so focus and the open state survive status events.
 */
import type { FailedItem } from '../main/engine/status.ts';
import { h, replaceChildren } from './dom.ts';
import { formatTime } from './format.ts';
import { t } from './i18n.ts';

export interface FailedActions {
  retry(): void;
  retryPath(path: string): void;
  ignore(path: string): void;
  open(path: string): void;
  copy(text: string): void;
}

export class FailedItems {
  readonly summary = h('summary');
  private readonly list = h('ul', { class: 'failed-list' });
  private readonly retryAll = h('button', { type: 'button', class: 'retry-button' });
  readonly el = h('details', { class: 'failed' }, this.summary, this.list, this.retryAll);
  private key = '';
  private readonly rows = new Map<string, { error: HTMLElement; next: HTMLElement; copy: string }>();
  private readonly actions: FailedActions;

  constructor(actions: FailedActions) {
    this.actions = actions;
    this.retryAll.addEventListener('click', () => actions.retry());
  }

  update(items: readonly FailedItem[]): void {
    this.el.hidden = items.length === 0;
    this.summary.textContent = t(items.length === 1 ? 'notSyncedOne' : 'notSynced', { count: items.length });
    this.retryAll.textContent = t('retryAll');
    // Rows are rebuilt only when the paths change; a new attempt updates its row's texts in
    // place, so a button being clicked is not swapped out by a retry in the background.
    const shown = items.slice(0, 50);
    const key = shown.map((f) => f.path).join('\n');
    if (key !== this.key) {
      this.key = key;
      this.rows.clear();
      replaceChildren(this.list, ...shown.map((f) => this.row(f)));
    }
    for (const f of shown) {
      const r = this.rows.get(f.path);
      if (!r) continue;
      r.error.textContent = ` ${f.error}`;
      r.next.textContent = ` (${t('nextRetry', { attempts: f.attempts, time: formatTime(f.nextRetryAt) })})`;
      r.copy = `${f.path}: ${f.error}`;
    }
  }

  private row(f: FailedItem): HTMLElement {
    const button = (cls: string, label: string, onclick: () => void) =>
      h('button', { type: 'button', class: cls, 'aria-label': `${label}: ${f.path}`, onclick }, label);
    const r = { error: h('span', { class: 'error-text' }), next: h('span', { class: 'muted' }), copy: '' };
    this.rows.set(f.path, r);
    return h(
      'li',
      { class: 'failed-item', 'data-path': f.path },
      h('code', {}, f.path),
      r.error,
      r.next,
      h(
        'span',
        { class: 'actions row-actions' },
        button('retry-item', t('retry'), () => this.actions.retryPath(f.path)),
        button('ignore-item', t('ignoreItem'), () => this.actions.ignore(f.path)),
        button('open-item', t('open'), () => this.actions.open(f.path)),
        button('copy-item', t('copyError'), () => this.actions.copy(r.copy)),
      ),
    );
  }
}
