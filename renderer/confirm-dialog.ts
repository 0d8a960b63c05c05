/**
 * An in-app confirmation (instead of the browser's confirm()): a modal with the safe
 * choice focused, so Enter or Escape never does the destructive thing.
 */
import { h, uid } from './dom.ts';
import { restoreFocus } from './focus.ts';

export interface ConfirmOptions {
  title: string;
  body: string;
  confirm: string;
  cancel: string;
  danger?: boolean;
}

export function confirmDialog(o: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = uid('confirm-title');
    const bodyId = uid('confirm-body');
    const cancel = h('button', { type: 'button', class: 'primary confirm-cancel' }, o.cancel);
    const ok = h('button', { type: 'button', class: o.danger ? 'danger confirm-ok' : 'confirm-ok' }, o.confirm);
    const dialog = h(
      'dialog',
      { class: 'confirm-dialog', role: 'alertdialog', 'aria-labelledby': titleId, 'aria-describedby': bodyId },
      h('h2', { id: titleId }, o.title),
      h('p', { id: bodyId }, o.body),
      h('div', { class: 'dialog-buttons' }, h('span', { class: 'spacer' }), ok, cancel),
    );
    let answer = false;
    ok.addEventListener('click', () => ((answer = true), dialog.close()));
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
      queueMicrotask(restoreFocus);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
