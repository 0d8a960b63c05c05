/**
 * The add flow, and the edit flow for a saved folder (the same form, pre-filled). The title
 * and the buttons stay in view; the fields scroll between them, and port, mode and ignore
 * patterns sit in an "Advanced" fold. "Start syncing" needs a successful test of exactly the
 * connection settings shown (an edit that keeps them needs none); a new folder then shows
 * the dry run of its first sync, with Start and Cancel. Escape or Cancel on a form with
 * changes asks before discarding them.
 */
import type { AuthChoice, ConnectionRequest, FolderEntry, UpdateFolderRequest } from '../main/ipc/contract.ts';
import { confirmDialog } from './confirm-dialog.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { ferry } from './ferry.ts';
import { restoreFocus } from './focus.ts';
import { errorText, renderTestResult } from './host-key-panel.ts';
import { t, type MessageKey } from './i18n.ts';
import { previewPanel } from './preview-panel.ts';
import { remoteBrowser } from './remote-browser.ts';

export interface AddDialogOptions {
  localPath?: string;
  /** Edit this saved folder instead of adding one. */
  edit?: FolderEntry;
  onDone(entry: FolderEntry): void;
}

function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id ||= uid('field');
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hint ? h('small', { class: 'muted', id: hintId }, hint) : null,
  );
}

const input = (attrs: Record<string, string | number | boolean | undefined>) =>
  h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });

export function openAddDialog(opts: AddDialogOptions): HTMLDialogElement {
  const e = opts.edit;
  const local = input({
    name: 'localPath',
    required: true,
    value: e?.localPath ?? opts.localPath ?? '',
    readonly: !!e,
  });
  const choose = h('button', { type: 'button', hidden: !!e }, t('choose'));
  const aliases = h('datalist', { id: uid('aliases') });
  const host = input({ name: 'host', required: true, list: aliases.id, value: e?.host });
  const user = input({ name: 'user', placeholder: t('userPlaceholder'), value: e?.user });
  const port = input({
    type: 'number',
    name: 'port',
    min: 1,
    max: 65535,
    inputmode: 'numeric',
    placeholder: '22',
    value: e?.port,
  });
  const authName = uid('auth');
  const kind0 = e?.authKind ?? 'agent';
  const authRadio = (value: AuthChoice['kind'], label: MessageKey) => {
    const el = h('input', { type: 'radio', name: authName, value, checked: kind0 === value });
    return { input: el, el: h('label', { class: 'radio' }, el, ' ', t(label)) };
  };
  const agent = authRadio('agent', 'authAgent');
  const key = authRadio('key', 'authKey');
  const pw = authRadio('password', 'authPassword');
  const keyPath = input({ name: 'keyPath', placeholder: '~/.ssh/id_ed25519', value: e?.keyPath });
  const keep = e ? t('secretUnchanged') : undefined;
  const passphrase = input({ type: 'password', name: 'passphrase', placeholder: keep });
  const password = input({ type: 'password', name: 'password', placeholder: keep });
  const keyFields = h('div', { class: 'sub-fields' }, field(t('keyPath'), keyPath), field(t('passphrase'), passphrase));
  const passwordFields = h('div', { class: 'sub-fields' }, field(t('password'), password));
  const remote = input({ name: 'remotePath', required: true, placeholder: '/home/you/backup', value: e?.remotePath });
  const browse = h('button', { type: 'button' }, t('browse'));
  const browser = h('div', { class: 'remote-browser', hidden: true });
  const mode = h(
    'select',
    { name: 'mode' },
    ...(['push', 'mirror', 'upload'] as const).map((m) => h('option', { value: m }, t(`mode.${m}`))),
  );
  mode.value = e?.mode ?? 'push';
  const ignore = h('textarea', { name: 'ignore', rows: 3, spellcheck: 'false', placeholder: 'node_modules/\n*.tmp' });
  ignore.value = e?.ignore.join('\n') ?? '';
  const trashOn = h('input', { type: 'checkbox', name: 'trash', id: uid('trash'), checked: !!e?.trashDays });
  const trashDays = input({
    type: 'number',
    name: 'trashDays',
    min: 1,
    max: 365,
    inputmode: 'numeric',
    value: e?.trashDays ?? 30,
    disabled: !e?.trashDays,
  });
  const afterSync = input({ name: 'afterSync', value: e?.afterSync, placeholder: 'make deploy' });
  const remoteAfterSync = input({
    name: 'remoteAfterSync',
    value: e?.remoteAfterSync,
    placeholder: 'systemctl reload site',
  });
  const canary = h('input', { type: 'checkbox', name: 'canary', id: uid('canary'), checked: !!e?.canary });
  trashOn.addEventListener('change', () => (trashDays.disabled = !trashOn.checked));
  const result = h('div', { class: 'connection-result', 'aria-live': 'polite' });
  const preview = h('div', { class: 'preview-box', hidden: true });
  const testButton = h('button', { type: 'button', class: 'test-button' }, t('testConnection'));
  const back = h('button', { type: 'button', class: 'back-button', hidden: true }, t('back'));
  const submit = h('button', { type: 'submit', class: 'primary add-button', disabled: !e }, e ? t('save') : t('add'));
  const cancel = h('button', { type: 'button', class: 'cancel-button' }, t('cancel'));
  const titleId = uid('add-title');
  const fields = h(
    'div',
    { class: 'fields' },
    h('div', { class: 'row' }, field(t('localFolder'), local), choose),
    h('div', { class: 'grid' }, field(t('host'), host), field(t('user'), user), aliases),
    h(
      'fieldset',
      {},
      h('legend', {}, t('auth')),
      h('div', { class: 'radios' }, agent.el, key.el, pw.el),
      keyFields,
      passwordFields,
    ),
    h('div', { class: 'row' }, field(t('remotePath'), remote), browse),
    browser,
    h(
      'details',
      { class: 'advanced', open: !!e },
      h('summary', {}, t('advanced')),
      h(
        'div',
        { class: 'advanced-body' },
        field(t('port'), port),
        field(t('mode'), mode),
        field(t('ignore'), ignore, t('ferryignoreHint')),
        h('div', { class: 'field checkbox trash-option' }, trashOn, h('label', { for: trashOn.id }, t('trashOption'))),
        field(t('trashDays'), trashDays),
        field(t('afterSyncField'), afterSync, t('afterSyncHint')),
        field(t('remoteAfterSyncField'), remoteAfterSync, t('remoteAfterSyncHint')),
        h('div', { class: 'field checkbox canary-option' }, canary, h('label', { for: canary.id }, t('canaryOption'))),
      ),
    ),
    result,
  );
  const form = h(
    'form',
    { novalidate: true, class: 'add-form' },
    h('h2', { id: titleId }, e ? t('editTitle', { name: e.localPath }) : t('addTitle')),
    h('div', { class: 'dialog-body' }, fields, preview),
    h('div', { class: 'dialog-buttons' }, testButton, back, h('span', { class: 'spacer' }), cancel, submit),
  );
  const dialog = h('dialog', { class: 'add-dialog', 'aria-labelledby': titleId }, form);

  const authKind = (): AuthChoice['kind'] => (key.input.checked ? 'key' : pw.input.checked ? 'password' : 'agent');
  const showAuthFields = () => {
    keyFields.hidden = authKind() !== 'key';
    passwordFields.hidden = authKind() !== 'password';
  };
  showAuthFields();
  const showError = (message: string) => replaceChildren(result, errorText(message));

  /** The connection settings as a request, or undefined after saying what is missing. */
  const request = (quiet = false): ConnectionRequest | undefined => {
    const missing = (el: HTMLInputElement, label: MessageKey) => {
      if (quiet) return undefined;
      showError(t('fieldRequired', { field: t(label) }));
      el.focus();
      return undefined;
    };
    if (!host.value.trim()) return missing(host, 'host');
    if (!remote.value.trim()) return missing(remote, 'remotePath');
    let auth: AuthChoice = { kind: 'agent' };
    if (authKind() === 'key') {
      if (!keyPath.value.trim()) return missing(keyPath, 'keyPath');
      auth = {
        kind: 'key',
        keyPath: keyPath.value.trim(),
        ...(passphrase.value ? { passphrase: passphrase.value } : {}),
      };
    } else if (authKind() === 'password') {
      auth = { kind: 'password', password: password.value };
    }
    const portNumber = port.value.trim() ? Number(port.value) : undefined;
    return {
      host: host.value.trim(),
      ...(user.value.trim() ? { user: user.value.trim() } : {}),
      ...(portNumber !== undefined ? { port: portNumber } : {}),
      auth,
      remotePath: remote.value.trim(),
    };
  };
  const settings = (): UpdateFolderRequest | undefined => {
    const req = request();
    if (!req) return undefined;
    const ignores = ignore.value
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const m = mode.value === 'mirror' || mode.value === 'upload' ? mode.value : 'push';
    const days = Math.round(Number(trashDays.value));
    if (trashOn.checked && !(days >= 1 && days <= 365)) {
      showError(t('trashDaysRange'));
      trashDays.focus();
      return undefined;
    }
    return {
      ...req,
      mode: m,
      ignore: ignores,
      ...(trashOn.checked ? { trashDays: days } : {}),
      ...(afterSync.value.trim() ? { afterSync: afterSync.value.trim() } : {}),
      ...(remoteAfterSync.value.trim() ? { remoteAfterSync: remoteAfterSync.value.trim() } : {}),
      ...(canary.checked ? { canary: true } : {}),
    };
  };

  const initial = JSON.stringify(request(true) ?? null);
  const snapshot = () =>
    [
      local,
      host,
      user,
      port,
      keyPath,
      passphrase,
      password,
      remote,
      mode,
      ignore,
      trashDays,
      afterSync,
      remoteAfterSync,
    ]
      .map((el) => el.value)
      .join('\0') +
    authKind() +
    String(trashOn.checked) +
    String(canary.checked);
  const pristine = snapshot();
  let testedFor: string | undefined;
  const connectionOk = () => {
    const now = JSON.stringify(request(true) ?? null);
    return now === testedFor || (!!e && now === initial);
  };
  const invalidate = () => {
    testedFor = undefined;
    submit.disabled = !connectionOk();
  };
  for (const el of [host, user, port, keyPath, passphrase, password, remote]) el.addEventListener('input', invalidate);
  for (const r of [agent, key, pw]) r.input.addEventListener('change', () => (showAuthFields(), invalidate()));

  const busy = async <T>(
    button: HTMLButtonElement,
    label: MessageKey,
    work: () => Promise<T>,
  ): Promise<T | undefined> => {
    const before = button.textContent;
    button.disabled = true;
    button.textContent = t(label);
    try {
      return await work();
    } catch (err) {
      showError((err as Error).message);
      return undefined;
    } finally {
      button.disabled = false;
      button.textContent = before;
    }
  };

  const show = (req: ConnectionRequest, r: Parameters<typeof renderTestResult>[2], fallback: HTMLElement) => {
    testedFor = undefined;
    const focus = renderTestResult(result, req, r, (trust, hostKey) => {
      void busy(trust, 'testing', async () => {
        await ferry().trustHostKey({ host: hostKey.host, port: hostKey.port, fingerprint: hostKey.fingerprint });
        return ferry().testConnection(req);
      }).then((done) => done && show(req, done, testButton));
    });
    if (r.outcome === 'ok') testedFor = JSON.stringify(req);
    submit.disabled = !connectionOk();
    // Focus goes where the next step is: the trust button, Start, or back to the test.
    (focus ?? (submit.disabled ? fallback : submit)).focus();
    result.scrollIntoView({ block: 'nearest' });
  };

  const test = async () => {
    const req = request();
    if (!req) return;
    const r = await busy(testButton, 'testing', () => ferry().testConnection(req));
    if (r) show(req, r, testButton);
    else testButton.focus();
  };

  const showPreview = (on: boolean) => {
    fields.hidden = on;
    preview.hidden = !on;
    back.hidden = !on;
    testButton.hidden = on;
  };
  let previewed: string | undefined;

  const discard = async () => {
    if (snapshot() !== pristine || previewed) {
      const ok = await confirmDialog({
        title: t('discardTitle'),
        body: t('discardBody'),
        confirm: t('discard'),
        cancel: t('keepEditing'),
        danger: true,
      });
      if (!ok) return;
    }
    dialog.close();
  };

  choose.addEventListener('click', async () => {
    const picked = await ferry()
      .chooseLocalFolder()
      .catch((err: Error) => (showError(err.message), null));
    if (picked) local.value = picked;
  });
  browse.addEventListener('click', () => {
    const req = request();
    if (req)
      void remoteBrowser(
        browser,
        req,
        remote.value.trim() || '/',
        <T>(w: () => Promise<T>) => busy(browse, 'testing', w),
        (p) => ((remote.value = p), invalidate()),
      );
  });
  testButton.addEventListener('click', () => void test());
  back.addEventListener('click', () => {
    previewed = undefined;
    submit.textContent = t('add');
    showPreview(false);
    testButton.focus();
  });
  cancel.addEventListener('click', () => void discard());
  dialog.addEventListener('cancel', (ev) => {
    ev.preventDefault();
    void discard();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    queueMicrotask(restoreFocus);
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const s = settings();
    if (!s) return; // settings() said what is missing or wrong; a tested connection stays tested
    if (!connectionOk()) return invalidate();
    if (e) {
      const entry = await busy(submit, 'saving', () => ferry().updateFolder(e.id, s));
      if (entry) (opts.onDone(entry), dialog.close());
      return;
    }
    if (!local.value.trim()) {
      showError(t('fieldRequired', { field: t('localFolder') }));
      return local.focus();
    }
    const add = { ...s, localPath: local.value.trim() };
    const key = JSON.stringify(add);
    if (previewed !== key) {
      const p = await busy(submit, 'previewing', () => ferry().previewFolder(add));
      if (!p) return;
      previewed = key;
      const id = uid('preview');
      replaceChildren(preview, previewPanel(p, id));
      showPreview(true);
      submit.textContent = t('start');
      submit.setAttribute('aria-describedby', `${id}-summary`);
      submit.focus();
      return;
    }
    const entry = await busy(submit, 'adding', () => ferry().addFolder(add));
    if (entry) (opts.onDone(entry), dialog.close());
  });

  void ferry()
    .listSshAliases()
    .then((names) => replaceChildren(aliases, ...names.map((n) => h('option', { value: n }))))
    .catch(() => undefined);

  document.body.append(dialog);
  dialog.showModal();
  (e ? host : local.value ? host : local).focus();
  return dialog;
}
