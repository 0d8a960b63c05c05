/**
 * "Commands…" on a server's row: that server's commands after sync, the one run here and the
 * one run on it, set after the server was added. Saving restarts the folder with them (the
 * first server's are the folder's own, also in its edit dialog). An emptied field is no command.
 */
import type { FolderEntry } from '../main/ipc/contract.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { ferry } from './ferry.ts';
import { restoreFocus } from './focus.ts';
import { errorText } from './host-key-panel.ts';
import { t, type MessageKey } from './i18n.ts';
import { targetName } from './target-rows.ts';

export function openTargetCommandsDialog(
  entry: FolderEntry,
  target: string,
  onDone: (e: FolderEntry) => void,
): HTMLDialogElement {
  const now = entry.targetCommands?.find((c) => c.target === target);
  const field = (label: MessageKey, hint: MessageKey, name: string, value: string | undefined) => {
    const el = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', id: uid('cmd'), name, value });
    const hintId = `${el.id}-hint`;
    el.setAttribute('aria-describedby', hintId);
    const box = h(
      'div',
      { class: 'field' },
      h('label', { for: el.id }, t(label)),
      el,
      h('small', { class: 'muted', id: hintId }, t(hint)),
    );
    return { el, box };
  };
  const local = field('afterSyncField', 'afterSyncHint', 'afterSync', now?.afterSync);
  const remote = field('remoteAfterSyncField', 'remoteAfterSyncHint', 'remoteAfterSync', now?.remoteAfterSync);
  const result = h('div', { class: 'connection-result', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary save-commands' }, t('save'));
  const cancel = h('button', { type: 'button' }, t('cancel'));
  const titleId = uid('commands-title');
  const server = targetName(target);
  const form = h(
    'form',
    { novalidate: true, class: 'add-form' },
    h('h2', { id: titleId }, t('targetCommandsTitle', { server })),
    h(
      'div',
      { class: 'dialog-body' },
      h('div', { class: 'fields' }, h('p', { class: 'muted' }, target), local.box, remote.box, result),
    ),
    h('div', { class: 'dialog-buttons' }, h('span', { class: 'spacer' }), cancel, save),
  );
  const dialog = h('dialog', { class: 'add-dialog target-commands-dialog', 'aria-labelledby': titleId }, form);
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    queueMicrotask(restoreFocus);
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const afterSync = local.el.value.trim();
    const remoteAfterSync = remote.el.value.trim();
    save.disabled = true;
    ferry()
      .setTargetCommands(entry.id, target, {
        ...(afterSync ? { afterSync } : {}),
        ...(remoteAfterSync ? { remoteAfterSync } : {}),
      })
      .then(
        (e) => (onDone(e), dialog.close()),
        (err: unknown) => replaceChildren(result, errorText((err as Error).message)),
      )
      .finally(() => (save.disabled = false));
  });
  document.body.append(dialog);
  dialog.showModal();
  remote.el.focus();
  return dialog;
}
