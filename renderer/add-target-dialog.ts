/**
 * "Add server" on a card: the connection part of the add dialog (host, user, port, key file
 * for a key folder, folder on the server), the same connection test with its host-key
 * confirmation, and Add once the test passed for exactly these settings. The new server
 * logs in the way the folder's first server does, and may have its own command run on it
 * after a sync (not part of the tested connection: changing it needs no new test).
 */
import type { AddTargetRequest, ConnectionRequest, FolderEntry } from '../main/ipc/contract.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { ferry } from './ferry.ts';
import { restoreFocus } from './focus.ts';
import { errorText, renderTestResult } from './host-key-panel.ts';
import { t, type MessageKey } from './i18n.ts';

export function openAddTargetDialog(entry: FolderEntry, onDone: (e: FolderEntry) => void): HTMLDialogElement {
  const field = (label: MessageKey, attrs: Record<string, string | number | boolean | undefined>) => {
    const el = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', id: uid('target'), ...attrs });
    return { el, box: h('div', { class: 'field' }, h('label', { for: el.id }, t(label)), el) };
  };
  const host = field('host', { name: 'host', required: true });
  const user = field('user', { name: 'user', value: entry.user });
  const port = field('port', { name: 'port', type: 'number', min: 1, max: 65535, placeholder: '22' });
  const key = field('keyPath', { name: 'keyPath', value: entry.keyPath });
  const remote = field('remotePath', { name: 'remotePath', required: true, value: entry.remotePath });
  const command = field('remoteAfterSyncField', { name: 'remoteAfterSync', placeholder: 'systemctl reload site' });
  const hintId = `${command.el.id}-hint`;
  command.el.setAttribute('aria-describedby', hintId);
  command.box.append(h('small', { class: 'muted', id: hintId }, t('remoteAfterSyncHint')));
  const result = h('div', { class: 'connection-result', 'aria-live': 'polite' });
  const testButton = h('button', { type: 'button', class: 'test-button' }, t('testConnection'));
  const add = h('button', { type: 'submit', class: 'primary add-target-button', disabled: true }, t('addServer'));
  const cancel = h('button', { type: 'button' }, t('cancel'));
  const titleId = uid('target-title');
  const form = h(
    'form',
    { novalidate: true, class: 'add-form' },
    h('h2', { id: titleId }, t('addServerTitle', { name: entry.localPath })),
    h(
      'div',
      { class: 'dialog-body' },
      h(
        'div',
        { class: 'fields' },
        h('p', { class: 'muted' }, t('addServerHint')),
        h('div', { class: 'grid' }, host.box, user.box),
        port.box,
        entry.authKind === 'key' ? key.box : null,
        remote.box,
        command.box,
        result,
      ),
    ),
    h('div', { class: 'dialog-buttons' }, testButton, h('span', { class: 'spacer' }), cancel, add),
  );
  const dialog = h('dialog', { class: 'add-dialog add-target-dialog', 'aria-labelledby': titleId }, form);

  const request = (): ConnectionRequest | undefined => {
    if (!host.el.value.trim() || !remote.el.value.trim()) {
      replaceChildren(
        result,
        errorText(t('fieldRequired', { field: t(host.el.value.trim() ? 'remotePath' : 'host') })),
      );
      return undefined;
    }
    const auth: ConnectionRequest['auth'] =
      entry.authKind === 'key'
        ? { kind: 'key', keyPath: key.el.value.trim() }
        : entry.authKind === 'password'
          ? { kind: 'password', password: '' }
          : { kind: 'agent' };
    return {
      host: host.el.value.trim(),
      ...(user.el.value.trim() ? { user: user.el.value.trim() } : {}),
      ...(port.el.value.trim() ? { port: Number(port.el.value) } : {}),
      auth,
      remotePath: remote.el.value.trim(),
    };
  };
  let testedFor: string | undefined;
  const check = () => (add.disabled = JSON.stringify(request() ?? null) !== testedFor);
  for (const f of [host, user, port, key, remote])
    f.el.addEventListener('input', () => ((testedFor = undefined), check()));

  const run = async <T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T | undefined> => {
    button.disabled = true;
    try {
      return await work();
    } catch (err) {
      replaceChildren(result, errorText((err as Error).message));
      return undefined;
    } finally {
      button.disabled = false;
    }
  };
  const test = async (req: ConnectionRequest) => {
    const r = await run(testButton, () => ferry().testConnection(req));
    if (!r) return;
    testedFor = r.outcome === 'ok' ? JSON.stringify(req) : undefined;
    const focus = renderTestResult(result, req, r, (trust, hk) => {
      void run(trust, () => ferry().trustHostKey({ host: hk.host, port: hk.port, fingerprint: hk.fingerprint })).then(
        () => test(req),
      );
    });
    check();
    (focus ?? (add.disabled ? testButton : add)).focus();
  };
  testButton.addEventListener('click', () => {
    const req = request();
    if (req) void test(req);
  });
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    queueMicrotask(restoreFocus);
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const req = request();
    if (!req || JSON.stringify(req) !== testedFor) return;
    const cmd = command.el.value.trim();
    const full: AddTargetRequest = { ...req, ...(cmd ? { remoteAfterSync: cmd } : {}) };
    void run(add, () => ferry().addTarget(entry.id, full)).then((e) => {
      if (e) (onDone(e), dialog.close());
    });
  });
  document.body.append(dialog);
  dialog.showModal();
  host.el.focus();
  return dialog;
}
