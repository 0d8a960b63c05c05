/**
 * The window: header with the overall state (unresolved conflicts counted), one card per
 * folder, the activity panel, and drag-and-drop of a folder onto the window to start the
 * add flow. Talks to main only through `window.ferry`.
 */
import type { AppSettings, Events, FolderEntry } from '../main/ipc/contract.ts';
import { overallState, pausedServersOverall } from '../main/app-core/tray-state.ts';
import { ActivityPanel } from './activity-panel.ts';
import { openAddDialog } from './add-dialog.ts';
import { openAddTargetDialog } from './add-target-dialog.ts';
import { openTargetCommandsDialog } from './target-commands-dialog.ts';
import { BytesSent } from './bytes-sent.ts';
import { confirmDialog } from './confirm-dialog.ts';
import { openConflictsDialog } from './conflicts-dialog.ts';
import { h, replaceChildren } from './dom.ts';
import { ferry } from './ferry.ts';
import { FolderCard, STATE_ICON, addServerButton, folderName, folderPaused, type CardActions } from './folder-card.ts';
import { focusFirst, trackFocus } from './focus.ts';
import { targetName } from './target-rows.ts';
import { formatDateTime } from './format.ts';
import { stampIso } from './trash-panel.ts';
import { resolveLanguage, setLanguage, t, type MessageKey } from './i18n.ts';
import { messageRegion, showMessage } from './messages.ts';
import { openSettings } from './settings-dialog.ts';
import { watchLoginPrompts } from './login-prompt-dialog.ts';

const folders = new Map<string, FolderEntry>();
const cards = new Map<string, FolderCard>();
let settings: AppSettings = { language: 'system', openAtLogin: false };

const root = h('div', { class: 'app-root' });
const list = h('section', { class: 'folder-list', 'aria-label': 'Folders' });
const overall = h('p', { class: 'overall', role: 'status' });
const dropOverlay = h('div', { class: 'drop-overlay', hidden: true, 'aria-hidden': 'true' });
const sent = new BytesSent();
const lastChange = new Map<string, string>();
let activity = new ActivityPanel(nameOf);

function nameOf(id: string): string {
  const f = folders.get(id);
  return f ? folderName(f.localPath) : id;
}

async function run<T>(work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (err) {
    showMessage((err as Error).message, 'error');
    return undefined;
  }
}

async function copy(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    showMessage(t('copied', { text }));
  } catch (err) {
    showMessage((err as Error).message, 'error');
  }
}

const actions: CardActions = {
  pause: (id) => void run(() => ferry().pauseFolder(id)).then(refresh),
  resume: (id) => void run(() => ferry().resumeFolder(id)).then(refresh),
  retry: (id) => void run(() => ferry().retryFailed(id)),
  confirmDeletes: (id) => void run(() => ferry().confirmMassDelete(id)),
  cancelDeletes: (id) => void run(() => ferry().cancelMassDelete(id)),
  provideSecret: (id, secret) => void run(() => ferry().provideSecret(id, secret)).then(refresh),
  remove: (id, localPath) =>
    void confirmDialog({
      title: t('removeTitle', { name: folderName(localPath) }),
      body: t('removeConfirm', { path: localPath }),
      confirm: t('remove'),
      cancel: t('cancel'),
      danger: true,
    }).then((yes) => (yes ? run(() => ferry().removeFolder(id)).then(refresh) : undefined)),
  showConflicts: (id, localPath) => void openConflictsDialog(id, localPath, () => void refresh()),
  edit: (entry) => void openAddDialog({ edit: entry, onDone: () => void refresh() }),
  addServer: (entry) => void openAddTargetDialog(entry, () => void refresh()),
  targetCommands: (entry, target) => void openTargetCommandsDialog(entry, target, () => void refresh()),
  pauseTarget: (id, target) => void run(() => ferry().pauseTarget(id, target)),
  resumeTarget: (id, target) => void run(() => ferry().resumeTarget(id, target)),
  removeTarget: (entry, target) => {
    const server = targetName(target);
    const name = folderName(entry.localPath);
    void confirmDialog({
      title: t('removeTargetTitle', { name, server }),
      body: t('removeTargetBody', { server }),
      confirm: t('removeTargetConfirm'),
      cancel: t('cancel'),
      danger: true,
    }).then(async (yes) => {
      if (!yes) return;
      const e = await run(() => ferry().removeTarget(entry.id, target));
      await refresh();
      if (!e) return;
      showMessage(t('targetRemoved', { name, server }));
      // The row and its button are gone (and the folder's id changed if it was the first server).
      focusFirst(addServerButton(e.id));
    });
  },
  syncNow: (id) => void run(() => ferry().syncNow(id)),
  openFolder: (id) => void run(() => ferry().openFolder(id)),
  openFile: (id, path) => void run(() => ferry().openLocalFile(id, path)),
  ignorePath: (id, path) => void run(() => ferry().ignorePath(id, path)).then(refresh),
  copy: (text) => void copy(text),
  why: (id, path) => run(() => ferry().whyPath(id, path)),
  retryPath: (id, path) => void run(() => ferry().retryPath(id, path)),
  listTrash: (id) => run(() => ferry().listTrash(id)),
  restoreFromTrash: async (id, item) => {
    const r = await run(() => ferry().restoreFromTrash(id, item.path, item.stamp));
    if (!r) return;
    const parts = [t('trashRestored', { path: item.path, time: formatDateTime(stampIso(r.stamp)) })];
    if (r.serverPreviousKeptAs) parts.push(t('trashServerPrevious', { where: r.serverPreviousKeptAs }));
    if (r.localKeptAs) parts.push(t('trashLocalPrevious', { where: r.localKeptAs }));
    showMessage(parts.join(' '));
  },
};

function renderOverall(): void {
  const entries = [...folders.values()];
  const unresolved = entries.reduce((n, f) => n + f.unresolvedConflicts, 0);
  const inputs = entries.map((f) => ({ status: f.status, conflictsNeedingAttention: f.unresolvedConflicts }));
  const state = overallState(inputs);
  overall.dataset.state = entries.length === 0 ? 'empty' : state;
  overall.textContent =
    entries.length === 0
      ? t('overall.empty')
      : state === 'conflict'
        ? `⚠ ${t('overall.unresolved', { count: unresolved })}`
        : `${STATE_ICON[state]} ${t(`overall.${state}` as MessageKey, pausedServersOverall(inputs))}`;
}

function renderList(): void {
  for (const [id, card] of cards) {
    if (!folders.has(id)) {
      card.el.remove();
      cards.delete(id);
      sent.forget(id);
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
        const changed = lastChange.get(entry.id);
        if (changed) c.changed(changed);
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
  activity.addBytes(sent.update(s));
  const entry = folders.get(s.id);
  if (!entry) return void refresh();
  const next = { ...entry, status: s, paused: folderPaused(s) };
  folders.set(s.id, next);
  cards.get(s.id)?.update(next);
  renderOverall();
}

function onActivity(a: Events['fileActivity']): void {
  activity.add(a);
  lastChange.set(a.folderId, a.time);
  cards.get(a.folderId)?.changed(a.time);
}

/** Once a second: close the chart's second; every 15 s: refresh the cards' relative times. */
let seconds = 0;
function tick(): void {
  const live = [...folders.values()].reduce(
    (n, f) => n + (f.status.state === 'syncing' ? f.status.throughputBps : 0),
    0,
  );
  activity.tick(live);
  if (++seconds % 15 === 0) for (const c of cards.values()) c.tick();
}

function startAdd(localPath?: string): void {
  openAddDialog({ ...(localPath ? { localPath } : {}), onDone: () => void refresh() });
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
  list.setAttribute('aria-label', t('folders'));
  activity = new ActivityPanel(nameOf);
  replaceChildren(dropOverlay, h('p', {}, t('dropHere')));
  const settingsButton = h('button', { type: 'button', class: 'settings-button' }, t('settings'));
  settingsButton.addEventListener('click', () =>
    openSettings(settings, (next) => {
      const relabel = next.language !== settings.language;
      settings = next;
      if (relabel) render();
    }),
  );
  replaceChildren(
    root,
    h(
      'div',
      { class: 'app' },
      h(
        'header',
        { class: 'top' },
        h('h1', { tabindex: -1 }, t('appTitle')),
        overall,
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'primary add-folder', onclick: () => startAdd() }, t('addFolder')),
        settingsButton,
      ),
      h('main', {}, list),
      activity.el,
    ),
    messageRegion(),
    dropOverlay,
  );
  renderList();
}

async function main(): Promise<void> {
  settings = (await run(() => ferry().getSettings())) ?? settings;
  document.body.append(root);
  trackFocus();
  render();
  ferry().on('folderStatus', onStatus);
  ferry().on('foldersChanged', () => void refresh());
  ferry().on('fileActivity', onActivity);
  ferry().on('hookRun', (r) => activity.addHook(r));
  ferry().on('conflict', () => void refresh());
  watchLoginPrompts();
  ferry().on('showConflicts', ({ folderId }) => {
    const f = folders.get(folderId);
    if (f) openConflictsDialog(folderId, f.localPath, () => void refresh());
  });
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
  setInterval(tick, 1000);
  await refresh();
  document.body.dataset.ready = 'true';
}

void main();
