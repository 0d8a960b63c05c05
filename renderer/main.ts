/**
 * The window: header with the overall state, one card per folder, the activity panel, and
 * drag-and-drop of a folder onto the window to start the add flow. Talks to main only
 * through `window.ferry`.
 */
import type { AppSettings, Events, FolderEntry } from '../main/ipc/contract.ts';
import { overallState } from '../main/app-core/tray-state.ts';
import { openAddDialog } from './add-dialog.ts';
import { openConflictsDialog } from './conflicts-dialog.ts';
import { h, replaceChildren } from './dom.ts';
import { ferry } from './ferry.ts';
import { FolderCard, STATE_ICON, type CardActions } from './folder-card.ts';
import { formatBytes } from './format.ts';
import { resolveLanguage, setLanguage, t, type MessageKey } from './i18n.ts';
import { messageRegion, showMessage } from './messages.ts';
import { ThroughputSeries } from './throughput-series.ts';

const folders = new Map<string, FolderEntry>();
const cards = new Map<string, FolderCard>();
let settings: AppSettings = { language: 'system', openAtLogin: false };

const list = h('section', { class: 'folder-list', 'aria-label': 'Folders' });
const overall = h('p', { class: 'overall', role: 'status' });
const activityList = h('ol', { class: 'activity-list' });
const chart = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
const chartArea = document.createElementNS('http://www.w3.org/2000/svg', 'polygon');
const chartLabel = h('p', { class: 'muted chart-label' });
const dropOverlay = h('div', { class: 'drop-overlay', hidden: true, 'aria-hidden': 'true' });
const series = new ThroughputSeries(60);
const recent: Events['fileActivity'][] = [];

async function run<T>(work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (err) {
    showMessage((err as Error).message, 'error');
    return undefined;
  }
}

const actions: CardActions = {
  pause: (id) => void run(() => ferry().pauseFolder(id)).then(refresh),
  resume: (id) => void run(() => ferry().resumeFolder(id)).then(refresh),
  retry: (id) => void run(() => ferry().retryFailed(id)),
  confirmDeletes: (id) => void run(() => ferry().confirmMassDelete(id)),
  cancelDeletes: (id) => void run(() => ferry().cancelMassDelete(id)),
  provideSecret: (id, secret) => void run(() => ferry().provideSecret(id, secret)).then(refresh),
  remove: (id, localPath) => {
    if (confirm(t('removeConfirm', { path: localPath }))) void run(() => ferry().removeFolder(id)).then(refresh);
  },
  showConflicts: (id, localPath) => void openConflictsDialog(id, localPath, () => undefined),
};

function renderOverall(): void {
  const state = overallState([...folders.values()].map((f) => ({ status: f.status, conflictsNeedingAttention: 0 })));
  overall.dataset.state = state;
  overall.textContent = `${STATE_ICON[state === 'conflict' ? 'error' : state]} ${t(`overall.${state}` as MessageKey)}`;
}

function renderList(): void {
  for (const [id, card] of cards) {
    if (!folders.has(id)) {
      card.el.remove();
      cards.delete(id);
    }
  }
  if (folders.size === 0) {
    replaceChildren(list, h('div', { class: 'empty' }, h('h2', {}, t('emptyTitle')), h('p', {}, t('emptyBody'))));
  } else {
    list.querySelector('.empty')?.remove();
    for (const entry of folders.values()) {
      const card = cards.get(entry.id);
      if (card) card.update(entry);
      else {
        const c = new FolderCard(entry, actions);
        cards.set(entry.id, c);
        list.append(c.el);
      }
    }
  }
  renderOverall();
}

async function refresh(): Promise<void> {
  const entries = await run(() => ferry().listFolders());
  if (!entries) return;
  folders.clear();
  for (const e of entries) folders.set(e.id, e);
  renderList();
}

function onStatus(s: Events['folderStatus']): void {
  const entry = folders.get(s.id);
  if (!entry) return void refresh();
  const next = { ...entry, status: s, paused: s.state === 'paused' };
  folders.set(s.id, next);
  cards.get(s.id)?.update(next);
  renderOverall();
}

function onActivity(a: Events['fileActivity']): void {
  if (a.outcome.ok && a.outcome.op === 'upload') series.add(a.outcome.bytes ?? 0);
  recent.unshift(a);
  recent.length = Math.min(recent.length, 30);
  renderActivity();
}

function renderActivity(): void {
  if (recent.length === 0) return replaceChildren(activityList, h('li', { class: 'muted' }, t('noActivity')));
  replaceChildren(
    activityList,
    ...recent.map((a) => {
      const op = (['upload', 'remove', 'mkdir', 'rename'] as const).find((o) => a.outcome.op === o) ?? 'other';
      return h(
        'li',
        { class: a.outcome.ok ? 'ok' : 'failed' },
        h('span', { class: 'op' }, t(`op.${op}`)),
        ' ',
        h('code', {}, a.outcome.path || '/'),
        a.outcome.ok ? null : h('span', { class: 'error-text' }, ` ${t('failed')}: ${a.outcome.error ?? ''}`),
      );
    }),
  );
}

/** Once a second: close the chart's second and redraw it with the current and peak rates. */
function sampleThroughput(): void {
  series.tick();
  drawThroughput();
}

function drawThroughput(): void {
  chartArea.setAttribute('points', series.areaPoints(100, 30));
  // While a folder syncs, its own live rate is the better "now"; otherwise the last second's.
  const live = [...folders.values()].reduce(
    (n, f) => n + (f.status.state === 'syncing' ? f.status.throughputBps : 0),
    0,
  );
  chartLabel.textContent = t('throughputLine', {
    now: formatBytes(Math.max(live, series.last())),
    peak: formatBytes(series.peak()),
  });
}

function openSettings(): void {
  const lang = h(
    'select',
    { id: 'settings-language' },
    h('option', { value: 'system' }, t('languageSystem')),
    h('option', { value: 'en' }, 'English'),
    h('option', { value: 'zh-CN' }, '简体中文'),
  );
  lang.value = settings.language;
  const login = h('input', { type: 'checkbox', id: 'settings-login', checked: settings.openAtLogin });
  const close = h('button', { type: 'button' }, t('close'));
  const dialog = h(
    'dialog',
    { class: 'settings-dialog', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, t('settings')),
    h('div', { class: 'field' }, h('label', { for: lang.id }, t('language')), lang),
    h('div', { class: 'field checkbox' }, login, h('label', { for: login.id }, t('openAtLogin'))),
    h('div', { class: 'dialog-buttons' }, h('span', { class: 'spacer' }), close),
  );
  lang.addEventListener('change', async () => {
    const language = lang.value === 'en' || lang.value === 'zh-CN' ? lang.value : 'system';
    const next = await run(() => ferry().setSettings({ language }));
    if (next) {
      settings = next;
      dialog.close();
      render();
    }
  });
  login.addEventListener('change', async () => {
    const next = await run(() => ferry().setSettings({ openAtLogin: login.checked }));
    if (next) settings = next;
  });
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  lang.focus();
}

function startAdd(localPath?: string): void {
  openAddDialog({ ...(localPath ? { localPath } : {}), onAdded: () => void refresh() });
}

async function handleDrop(ev: DragEvent): Promise<void> {
  ev.preventDefault();
  dropOverlay.hidden = true;
  const file = ev.dataTransfer?.files[0];
  if (!file) return;
  let path = '';
  try {
    path = ferry().getPathForFile(file);
  } catch {
    path = '';
  }
  if (!path) return showMessage(t('dropNoPath'), 'error');
  const info = await run(() => ferry().inspectLocalPath(path));
  if (!info) return;
  if (info.kind === 'file') return showMessage(t('dropIsFile', { path: info.path }), 'error');
  if (info.kind === 'missing') return showMessage(t('dropMissing', { path: info.path }), 'error');
  if (info.alreadySyncedBy) return showMessage(t('dropAlreadySynced', { path: info.path }), 'error');
  startAdd(info.path);
}

function render(): void {
  setLanguage(resolveLanguage(settings.language, navigator.language));
  document.title = t('appTitle');
  cards.clear();
  list.replaceChildren();
  chart.setAttribute('viewBox', '0 0 100 30');
  chart.setAttribute('preserveAspectRatio', 'none');
  chart.setAttribute('class', 'chart');
  chart.setAttribute('role', 'img');
  chart.setAttribute('aria-label', t('throughput'));
  chart.replaceChildren(chartArea);
  drawThroughput();
  replaceChildren(dropOverlay, h('p', {}, t('dropHere')));
  const app = h(
    'div',
    { class: 'app' },
    h(
      'header',
      { class: 'top' },
      h('h1', {}, t('appTitle')),
      overall,
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'primary add-folder', onclick: () => startAdd() }, t('addFolder')),
      h('button', { type: 'button', class: 'settings-button', onclick: openSettings }, t('settings')),
    ),
    h('main', {}, list),
    h(
      'aside',
      { class: 'activity', 'aria-labelledby': 'activity-title' },
      h('h2', { id: 'activity-title' }, t('activity')),
      chart,
      chartLabel,
      activityList,
    ),
    messageRegion(),
    dropOverlay,
  );
  document.body.replaceChildren(app);
  renderList();
  renderActivity();
}

async function main(): Promise<void> {
  settings = (await run(() => ferry().getSettings())) ?? settings;
  render();
  ferry().on('folderStatus', onStatus);
  ferry().on('foldersChanged', () => void refresh());
  ferry().on('fileActivity', onActivity);
  ferry().on('conflict', () => void refresh());
  let depth = 0;
  document.addEventListener('dragenter', (ev) => {
    ev.preventDefault();
    depth++;
    dropOverlay.hidden = false;
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) dropOverlay.hidden = true;
  });
  document.addEventListener('dragover', (ev) => ev.preventDefault());
  document.addEventListener('drop', (ev) => {
    depth = 0;
    void handleDrop(ev);
  });
  setInterval(sampleThroughput, 1000);
  await refresh();
  document.body.dataset.ready = 'true';
}

void main();
