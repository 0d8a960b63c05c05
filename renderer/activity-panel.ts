/**
 * The activity panel: a chart of bytes sent per second over the last minute (fed by the
 * engine's progress, so one large file shows as it goes), with a rate axis and a time axis,
 * and the recent activity: each transfer with its time, folder and, when the folder has
 * several servers, the server it went to. Each command after sync that ran is
 * a row of the same list: time, folder, server, command, exit status and duration, and its
 * last lines of output in a fold (a failed one marked in words and with the error colour).
 * A fold the user opened stays open when new rows arrive. The panel scrolls by itself.
 */
import type { Events } from '../main/ipc/contract.ts';
import { h, replaceChildren } from './dom.ts';
import { formatBytes } from './format.ts';
import { language, t } from './i18n.ts';
import { targetName } from './target-rows.ts';
import { ThroughputSeries } from './throughput-series.ts';

type Row = { kind: 'file'; a: Events['fileActivity'] } | { kind: 'hook'; r: Events['hookRun'] };

const hookKey = (r: Events['hookRun']) => `${r.folderId}\0${r.report.target}\0${r.report.where}\0${r.report.at}`;

const SVG = 'http://www.w3.org/2000/svg';
const OPS = ['upload', 'remove', 'mkdir', 'rename'] as const;

export class ActivityPanel {
  readonly el: HTMLElement;
  private readonly series = new ThroughputSeries(60);
  private readonly recent: Row[] = [];
  /** Hook rows whose output fold is open (by {@link hookKey}). */
  private readonly open = new Set<string>();
  private readonly list = h('ol', { class: 'activity-list' });
  private readonly chart = document.createElementNS(SVG, 'svg');
  private readonly area = document.createElementNS(SVG, 'polygon');
  private readonly yTop = h('span', { class: 'axis-y-top' });
  private readonly label = h('p', { class: 'muted chart-label' });
  private readonly folderName: (id: string) => string;

  constructor(folderName: (id: string) => string) {
    this.folderName = folderName;
    this.chart.setAttribute('viewBox', '0 0 100 30');
    this.chart.setAttribute('preserveAspectRatio', 'none');
    this.chart.setAttribute('class', 'chart');
    this.chart.setAttribute('aria-hidden', 'true');
    for (const y of [0.5, 15, 29.5]) {
      const line = document.createElementNS(SVG, 'line');
      line.setAttribute('x1', '0');
      line.setAttribute('x2', '100');
      line.setAttribute('y1', String(y));
      line.setAttribute('y2', String(y));
      line.setAttribute('class', 'gridline');
      this.chart.append(line);
    }
    this.chart.append(this.area);
    this.el = h(
      'aside',
      { class: 'activity', 'aria-labelledby': 'activity-title' },
      h('h2', { id: 'activity-title' }, t('activity')),
      h(
        'figure',
        { class: 'chart-box' },
        h('div', { class: 'axis-y', 'aria-hidden': 'true' }, this.yTop, h('span', {}, '0')),
        this.chart,
        h(
          'div',
          { class: 'axis-x', 'aria-hidden': 'true' },
          h('span', {}, t('axisMinuteAgo')),
          h('span', {}, t('axisNow')),
        ),
        h('figcaption', {}, this.label),
      ),
      h('h3', { class: 'recent-title' }, t('recentActivity')),
      h('div', { class: 'activity-scroll', tabindex: 0, role: 'region', 'aria-label': t('recentActivity') }, this.list),
    );
    this.draw(0);
    this.renderList();
  }

  folderNameOf(id: string): string {
    return this.folderName(id);
  }

  addBytes(bytes: number): void {
    this.series.add(bytes);
  }

  /** Once a second: close the second and redraw (`live`: the folders' current rate). */
  tick(live: number): void {
    this.series.tick();
    this.draw(live);
  }

  add(a: Events['fileActivity']): void {
    this.push({ kind: 'file', a });
  }

  /** A command after sync ended. */
  addHook(r: Events['hookRun']): void {
    this.push({ kind: 'hook', r });
  }

  private push(row: Row): void {
    this.recent.unshift(row);
    this.recent.length = Math.min(this.recent.length, 100);
    const keys = new Set(this.recent.flatMap((x) => (x.kind === 'hook' ? [hookKey(x.r)] : [])));
    for (const k of this.open) if (!keys.has(k)) this.open.delete(k);
    this.renderList();
  }

  private draw(live: number): void {
    this.area.setAttribute('points', this.series.areaPoints(100, 30));
    this.yTop.textContent = `${formatBytes(this.series.peak())}/s`;
    this.label.textContent = t('throughputLine', {
      now: formatBytes(Math.max(live, this.series.last())),
      peak: formatBytes(this.series.peak()),
    });
  }

  /** One command after sync: what ran where, how it ended, and its output in a fold. */
  private hookRow(r: Events['hookRun'], clock: Intl.DateTimeFormat): HTMLElement {
    const hk = r.report;
    const how = hk.ok
      ? t('hookOk')
      : hk.timedOut
        ? t('hookTimedOut')
        : hk.exitCode !== null
          ? t('hookExit', { code: hk.exitCode })
          : (hk.error ?? hk.signal ?? '');
    const key = hookKey(r);
    const fold = hk.output.length
      ? h(
          'details',
          { open: this.open.has(key) },
          h('summary', {}, t('hookOutput', { count: hk.output.length })),
          h('pre', {}, hk.output.join('\n')),
        )
      : null;
    fold?.addEventListener('toggle', () => (fold.open ? this.open.add(key) : this.open.delete(key)));
    return h(
      'li',
      {
        class: `hook-run ${hk.ok ? 'ok' : 'failed'}`,
        'data-target': hk.target,
        'data-exit': hk.exitCode === null ? '' : hk.exitCode,
      },
      h('time', { datetime: hk.at, class: 'muted' }, clock.format(new Date(hk.at))),
      ' ',
      h('span', { class: 'folder-name' }, this.folderName(r.folderId)),
      ' · ',
      h('span', { class: 'hook-target' }, targetName(hk.target)),
      ' · ',
      h('span', { class: 'op' }, t(hk.where === 'remote' ? 'hookWhereRemote' : 'hookWhereLocal')),
      ' ',
      h('span', { class: 'hook-command' }, t('hookRan', { command: hk.command })),
      ' — ',
      h(
        'span',
        { class: hk.ok ? 'hook-status' : 'hook-status error-text' },
        hk.ok ? how : `${t('hookFailedMark')}: ${how}`,
      ),
      ` (${(hk.durationMs / 1000).toFixed(1)} s)`,
      fold,
    );
  }

  private renderList(): void {
    if (this.recent.length === 0) return replaceChildren(this.list, h('li', { class: 'muted' }, t('noActivity')));
    const clock = new Intl.DateTimeFormat(language(), { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    replaceChildren(
      this.list,
      ...this.recent.map((row) => (row.kind === 'hook' ? this.hookRow(row.r, clock) : fileRow(row.a, clock, this))),
    );
  }
}

function fileRow(a: Events['fileActivity'], clock: Intl.DateTimeFormat, panel: { folderNameOf(id: string): string }) {
  const op = OPS.find((o) => a.outcome.op === o) ?? 'other';
  return h(
    'li',
    { class: a.outcome.ok ? 'ok' : 'failed' },
    h('time', { datetime: a.time, class: 'muted' }, clock.format(new Date(a.time))),
    ' ',
    h('span', { class: 'folder-name' }, panel.folderNameOf(a.folderId)),
    ' · ',
    a.target ? h('span', { class: 'file-target' }, targetName(a.target)) : null,
    a.target ? ' · ' : null,
    h('span', { class: 'op' }, t(`op.${op}`)),
    ' ',
    h('code', {}, a.outcome.path || '/'),
    a.outcome.ok ? null : h('span', { class: 'error-text' }, ` ${t('failed')}: ${a.outcome.error ?? ''}`),
  );
}
