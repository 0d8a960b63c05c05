/**
 * A folder's conflict log: time, file, what Ferry did, and what the user can do about it
 * (open the local file, see where the server's copy went, mark it resolved).
 */
import type { ConflictList, ConflictView } from '../main/ipc/contract.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { ferry } from './ferry.ts';
import { formatDateTime } from './format.ts';
import { t } from './i18n.ts';
import { focusFirst, focusLost } from './focus.ts';
import { showMessage } from './messages.ts';

function what(c: ConflictView): string {
  return t(`action.${c.action}`, { copy: c.conflictCopyPath ?? '?' }) + (c.note ? ` (${c.note})` : '');
}

export function openConflictsDialog(folderId: string, localPath: string, onChange: () => void): HTMLDialogElement {
  const titleId = uid('conflicts-title');
  const body = h('div', { class: 'conflicts-body', 'aria-live': 'polite' });
  const close = h('button', { type: 'button' }, t('close'));
  const dialog = h(
    'dialog',
    { class: 'conflicts-dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, t('conflictsTitle', { path: localPath })),
    body,
    h('div', { class: 'dialog-buttons' }, h('span', { class: 'spacer' }), close),
  );

  const row = (c: ConflictView): HTMLElement => {
    const where = h(
      'p',
      { class: 'copy-location muted', hidden: true },
      t('copyLocation', { path: c.conflictCopyPath ?? '' }),
    );
    const actions = h(
      'td',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          onclick: () =>
            void ferry()
              .openLocalFile(folderId, c.path)
              .catch((err: Error) => showMessage(err.message, 'error')),
        },
        t('openLocal'),
      ),
      c.conflictCopyPath
        ? h('button', { type: 'button', 'aria-expanded': 'false', onclick: (ev) => toggle(ev, where) }, t('showCopy'))
        : null,
      c.resolved
        ? h('span', { class: 'resolved-badge' }, `✓ ${t('resolved')}`)
        : h(
            'button',
            {
              type: 'button',
              class: 'mark-resolved',
              onclick: () =>
                void ferry()
                  .markConflictResolved(folderId, c.time, c.path)
                  .then(load, (err: Error) => showMessage(err.message, 'error')),
            },
            t('markResolved'),
          ),
      where,
    );
    return h(
      'tr',
      { class: c.resolved ? 'conflict resolved' : 'conflict' },
      h('td', {}, formatDateTime(c.time)),
      h('td', {}, h('code', {}, c.path)),
      h('td', {}, what(c)),
      actions,
    );
  };

  const render = (list: ConflictList) => {
    if (list.records.length === 0) {
      replaceChildren(body, h('p', { class: 'muted' }, t('noConflicts')));
      return;
    }
    replaceChildren(
      body,
      list.malformed ? h('p', { class: 'muted' }, t('malformedLines', { count: list.malformed })) : null,
      h(
        'table',
        { class: 'conflict-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, t('conflictTime')),
            h('th', { scope: 'col' }, t('conflictPath')),
            h('th', { scope: 'col' }, t('conflictWhat')),
            h('th', { scope: 'col' }, t('conflictActions')),
          ),
        ),
        h('tbody', {}, ...list.records.map(row)),
      ),
    );
  };

  async function load(): Promise<void> {
    try {
      render(await ferry().getConflicts(folderId));
      onChange();
      // "Mark resolved" turned into a badge: focus moves to the next one, or to Close.
      if (focusLost()) focusFirst(body.querySelector<HTMLElement>('.mark-resolved'), close);
    } catch (err) {
      replaceChildren(body, h('p', { class: 'error-text', role: 'alert' }, (err as Error).message));
    }
  }

  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  void load();
  return dialog;
}

function toggle(ev: Event, target: HTMLElement): void {
  const button = ev.currentTarget as HTMLButtonElement;
  target.hidden = !target.hidden;
  button.setAttribute('aria-expanded', String(!target.hidden));
}
