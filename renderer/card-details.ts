/**
 * A card's details row: last sync and last change (relative times that {@link tick}
 * refreshes), queued count, transport, watching or polling (with the watcher's message),
 * changes that exist only on the server, skipped special files, and the folder's file count
 * and size from its last local scan ("1,234 files · 56 MiB"). Only what the status says.
 */
import type { FolderEntry } from '../main/ipc/contract.ts';
import { h, replaceChildren } from './dom.ts';
import { formatBytes, formatTime } from './format.ts';
import { language, t } from './i18n.ts';

export class CardDetails {
  private readonly list = h('ul', { class: 'details' });
  /** Outside the re-rendered list, so a focused or opened drift list stays as it is. */
  private readonly drift = h('details', { class: 'drift' });
  readonly el = h('div', { class: 'details-row' }, this.list, this.drift);
  private entry: FolderEntry | undefined;
  private lastChange: string | undefined;
  private driftKey = '';

  update(entry: FolderEntry): void {
    this.entry = entry;
    this.render();
  }

  /** The time of the folder's latest transfer (from the activity feed). */
  changed(time: string): void {
    this.lastChange = time;
    this.render();
  }

  /** Re-renders the relative times ("2 minutes ago") without a status event. */
  tick(): void {
    this.render();
  }

  private render(): void {
    const e = this.entry;
    if (!e) return;
    const s = e.status;
    const item = (cls: string, text: string, title?: string) =>
      h('li', { class: cls, ...(title ? { title } : {}) }, text);
    const watching =
      s.watcher === 'polling'
        ? h(
            'li',
            { class: 'watch polling' },
            t('watchPolling'),
            h('span', { class: 'muted' }, ` — ${s.watcherMessage ?? ''}`),
          )
        : s.watcher === 'live'
          ? item('watch', t('watchLive'))
          : null;
    const driftKey = s.drift.join('\n');
    if (driftKey !== this.driftKey) {
      this.driftKey = driftKey;
      const open = this.drift.open;
      replaceChildren(
        this.drift,
        h('summary', {}, t('drift', { count: s.drift.length })),
        h('ul', { class: 'drift-list' }, ...s.drift.slice(0, 50).map((p) => h('li', {}, h('code', {}, p)))),
      );
      this.drift.open = open;
    }
    this.drift.hidden = s.drift.length === 0;
    const files = s.localFiles;
    const totals =
      files === undefined
        ? null
        : item(
            'card-totals',
            files === 1
              ? t('localTotalsOne', { size: formatBytes(s.localBytes ?? 0) })
              : t('localTotals', {
                  files: new Intl.NumberFormat(language()).format(files),
                  size: formatBytes(s.localBytes ?? 0),
                }),
          );
    replaceChildren(
      this.list,
      totals,
      item('last-synced', s.lastSyncAt ? t('lastSynced', { time: formatTime(s.lastSyncAt) }) : t('neverSynced')),
      this.lastChange ? item('last-change', t('lastChange', { time: formatTime(this.lastChange) })) : null,
      s.queued > 0 ? item('queued', t('queued', { count: s.queued })) : null,
      s.transport ? item('transport', s.transport === 'rsync' ? 'rsync' : 'SFTP') : null,
      watching,
      s.skipped.length
        ? item('skipped', t('skipped', { count: s.skipped.length }), s.skipped.map((x) => x.path).join('\n'))
        : null,
      e.pausedUntil ? item('paused-until', t('pausedUntil', { time: formatTime(e.pausedUntil) })) : null,
    );
  }
}
