/**
 * The activity panel: a chart of bytes sent per second over the last minute (fed by the
 * engine's progress, so one large file shows as it goes), with a rate axis and a time axis,
 * and the latest transfers with their time and folder. The panel scrolls by itself.
 */
import type { Events } from '../main/ipc/contract.ts';
import { h, replaceChildren } from './dom.ts';
import { formatBytes } from './format.ts';
import { language, t } from './i18n.ts';
import { ThroughputSeries } from './throughput-series.ts';

const SVG = 'http://www.w3.org/2000/svg';
const OPS = ['upload', 'remove', 'mkdir', 'rename'] as const;

export class ActivityPanel {
  readonly el: HTMLElement;
  private readonly series = new ThroughputSeries(60);
  private readonly recent: Events['fileActivity'][] = [];
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
      h('h3', { class: 'recent-title' }, t('recentTransfers')),
      h(
        'div',
        { class: 'activity-scroll', tabindex: 0, role: 'region', 'aria-label': t('recentTransfers') },
        this.list,
      ),
    );
    this.draw(0);
    this.renderList();
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
    this.recent.unshift(a);
    this.recent.length = Math.min(this.recent.length, 100);
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

  private renderList(): void {
    if (this.recent.length === 0) return replaceChildren(this.list, h('li', { class: 'muted' }, t('noActivity')));
    const clock = new Intl.DateTimeFormat(language(), { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    replaceChildren(
      this.list,
      ...this.recent.map((a) => {
        const op = OPS.find((o) => a.outcome.op === o) ?? 'other';
        return h(
          'li',
          { class: a.outcome.ok ? 'ok' : 'failed' },
          h('time', { datetime: a.time, class: 'muted' }, clock.format(new Date(a.time))),
          ' ',
          h('span', { class: 'folder-name' }, this.folderName(a.folderId)),
          ' · ',
          h('span', { class: 'op' }, t(`op.${op}`)),
          ' ',
          h('code', {}, a.outcome.path || '/'),
          a.outcome.ok ? null : h('span', { class: 'error-text' }, ` ${t('failed')}: ${a.outcome.error ?? ''}`),
        );
      }),
    );
  }
}
