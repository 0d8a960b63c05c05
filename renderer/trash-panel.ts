/**
 * A card's "Server trash" fold, for a folder that keeps one: opening it (or Refresh) asks
 * the server what the trash holds, newest first, and each version has a Restore button.
 * Nothing is read while the fold is closed, so a card costs no connection until asked.
 */
import type { TrashItem, TrashListing } from '../main/ipc/contract.ts';
import { h, replaceChildren } from './dom.ts';
import { formatBytes, formatDateTime } from './format.ts';
import { t } from './i18n.ts';

export interface TrashActions {
  list(): Promise<TrashListing | undefined>;
  /** Restores one version; resolves when done (the caller shows the result). */
  restore(item: TrashItem): Promise<void>;
}

/** The ISO time of a trash stamp (`YYYYMMDD-HHMMSS`, UTC). */
export function stampIso(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(stamp);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : stamp;
}

export class TrashPanel {
  private readonly body = h('div', { class: 'trash-body', 'aria-live': 'polite' });
  private readonly refresh = h('button', { type: 'button', class: 'trash-refresh' });
  readonly summary = h('summary');
  readonly el = h('details', { class: 'trash' }, this.summary, this.body, this.refresh);
  private readonly actions: TrashActions;
  private loading = false;

  constructor(actions: TrashActions) {
    this.actions = actions;
    this.el.addEventListener('toggle', () => {
      if (this.el.open) void this.load();
    });
    this.refresh.addEventListener('click', () => void this.load());
    this.update(false);
  }

  /** Shows the fold only for a folder with a server trash. */
  update(enabled: boolean): void {
    this.el.hidden = !enabled;
    this.summary.textContent = t('trashTitle');
    this.refresh.textContent = t('trashRefresh');
  }

  async load(): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    this.el.dataset.loaded = 'false';
    replaceChildren(this.body, h('p', { class: 'muted' }, t('trashLoading')));
    try {
      const listing = await this.actions.list();
      if (!listing) return void replaceChildren(this.body);
      replaceChildren(
        this.body,
        listing.items.length === 0
          ? h('p', { class: 'muted trash-empty' }, t('trashEmpty'))
          : h('ul', { class: 'trash-list' }, ...listing.items.map((i) => this.row(i))),
        listing.total > listing.items.length
          ? h('p', { class: 'muted' }, t('trashCapped', { shown: listing.items.length, total: listing.total }))
          : null,
      );
    } finally {
      this.loading = false;
      this.el.dataset.loaded = 'true';
    }
  }

  private row(item: TrashItem): HTMLElement {
    const restore = h(
      'button',
      { type: 'button', class: 'trash-restore', 'aria-label': `${t('trashRestore')}: ${item.path} (${item.stamp})` },
      t('trashRestore'),
    );
    restore.addEventListener('click', async () => {
      restore.disabled = true;
      try {
        await this.actions.restore(item);
      } finally {
        restore.disabled = false;
      }
      await this.load();
      this.refresh.focus();
    });
    return h(
      'li',
      { class: 'trash-item', 'data-path': item.path, 'data-stamp': item.stamp },
      h('code', {}, item.path),
      h(
        'span',
        { class: 'muted' },
        ` ${formatBytes(item.size)} · ${t('trashKeptAt', { time: formatDateTime(stampIso(item.stamp)) })} `,
      ),
      restore,
    );
  }
}
