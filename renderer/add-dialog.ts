/**
 * The add flow: a modal form for one folder. "Start syncing" is enabled only after a test
 * of exactly the connection settings shown succeeded; changing any of them needs a new test.
 * A first connection shows the host key's fingerprint to confirm; a changed key shows a
 * blocking warning with both fingerprints and nothing to click through.
 */
import type { AuthChoice, ConnectionRequest, FolderEntry, TestConnectionResult } from '../main/ipc/contract.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { ferry } from './ferry.ts';
import { t, type MessageKey } from './i18n.ts';

export interface AddDialogOptions {
  localPath?: string;
  onAdded(entry: FolderEntry): void;
}

function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid('field');
  control.id = id;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('small', { class: 'muted' }, hint) : null,
  );
}

export function openAddDialog(opts: AddDialogOptions): HTMLDialogElement {
  const local = h('input', {
    type: 'text',
    name: 'localPath',
    required: true,
    autocomplete: 'off',
    value: opts.localPath ?? '',
  });
  const choose = h('button', { type: 'button' }, t('choose'));
  const aliases = h('datalist', { id: uid('aliases') });
  const host = h('input', {
    type: 'text',
    name: 'host',
    required: true,
    autocomplete: 'off',
    list: aliases.id,
    spellcheck: 'false',
  });
  const user = h('input', {
    type: 'text',
    name: 'user',
    autocomplete: 'off',
    placeholder: t('userPlaceholder'),
    spellcheck: 'false',
  });
  const port = h('input', {
    type: 'number',
    name: 'port',
    min: 1,
    max: 65535,
    inputmode: 'numeric',
    placeholder: '22',
  });
  const authName = uid('auth');
  const authRadio = (value: AuthChoice['kind'], label: MessageKey, checked = false) => {
    const input = h('input', { type: 'radio', name: authName, value, checked });
    return { input, el: h('label', { class: 'radio' }, input, ' ', t(label)) };
  };
  const agent = authRadio('agent', 'authAgent', true);
  const key = authRadio('key', 'authKey');
  const pw = authRadio('password', 'authPassword');
  const keyPath = h('input', { type: 'text', name: 'keyPath', placeholder: '~/.ssh/id_ed25519', spellcheck: 'false' });
  const passphrase = h('input', { type: 'password', name: 'passphrase', autocomplete: 'off' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'off' });
  const keyFields = h('div', { class: 'sub-fields' }, field(t('keyPath'), keyPath), field(t('passphrase'), passphrase));
  const passwordFields = h('div', { class: 'sub-fields' }, field(t('password'), password));
  const remote = h('input', {
    type: 'text',
    name: 'remotePath',
    required: true,
    placeholder: '/home/you/backup',
    spellcheck: 'false',
  });
  const browse = h('button', { type: 'button' }, t('browse'));
  const browser = h('div', { class: 'remote-browser', hidden: true });
  const mode = h(
    'select',
    { name: 'mode' },
    h('option', { value: 'push' }, t('mode.push')),
    h('option', { value: 'mirror' }, t('mode.mirror')),
    h('option', { value: 'upload' }, t('mode.upload')),
  );
  const ignore = h('textarea', { name: 'ignore', rows: 3, spellcheck: 'false', placeholder: 'node_modules/\n*.tmp' });
  const result = h('div', { class: 'connection-result', 'aria-live': 'polite' });
  const testButton = h('button', { type: 'button', class: 'test-button' }, t('testConnection'));
  const addButton = h('button', { type: 'submit', class: 'primary add-button', disabled: true }, t('add'));
  const cancel = h('button', { type: 'button', class: 'cancel-button' }, t('cancel'));
  const titleId = uid('add-title');

  const form = h(
    'form',
    { novalidate: true },
    h('h2', { id: titleId }, t('addTitle')),
    h('div', { class: 'row' }, field(t('localFolder'), local), choose),
    h('div', { class: 'grid' }, field(t('host'), host), field(t('user'), user), field(t('port'), port), aliases),
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
    field(t('mode'), mode),
    field(t('ignore'), ignore),
    result,
    h('div', { class: 'dialog-buttons' }, testButton, h('span', { class: 'spacer' }), cancel, addButton),
  );
  const dialog = h('dialog', { class: 'add-dialog', 'aria-labelledby': titleId }, form);

  const authKind = (): AuthChoice['kind'] => (key.input.checked ? 'key' : pw.input.checked ? 'password' : 'agent');
  const showAuthFields = () => {
    keyFields.hidden = authKind() !== 'key';
    passwordFields.hidden = authKind() !== 'password';
  };
  showAuthFields();

  let testedFor: string | undefined;
  const invalidate = () => {
    testedFor = undefined;
    addButton.disabled = true;
  };
  for (const el of [host, user, port, keyPath, passphrase, password, remote]) el.addEventListener('input', invalidate);
  for (const r of [agent, key, pw]) r.input.addEventListener('change', () => (showAuthFields(), invalidate()));

  const showError = (message: string) =>
    replaceChildren(result, h('p', { class: 'error-text', role: 'alert' }, message));

  /** The connection settings as a request, or undefined after saying what is missing. */
  const request = (): ConnectionRequest | undefined => {
    const missing = (el: HTMLInputElement, label: MessageKey) => {
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

  const test = async () => {
    const req = request();
    if (!req) return;
    const r = await busy(testButton, 'testing', () => ferry().testConnection(req));
    if (r) showResult(req, r);
  };

  const showResult = (req: ConnectionRequest, r: TestConnectionResult) => {
    invalidate();
    switch (r.outcome) {
      case 'ok':
        testedFor = JSON.stringify(req);
        addButton.disabled = false;
        replaceChildren(
          result,
          h('p', { class: 'ok-text', role: 'status' }, t('connectedOk', { fingerprint: r.hostKey.fingerprint })),
          r.remotePathExists ? null : h('p', { class: 'muted' }, t('remoteMissing', { path: req.remotePath })),
        );
        return;
      case 'unknown-host-key': {
        const trust = h('button', { type: 'button', class: 'primary trust-button' }, t('trustKey'));
        trust.addEventListener('click', async () => {
          const done = await busy(trust, 'testing', async () => {
            await ferry().trustHostKey({
              host: r.hostKey.host,
              port: r.hostKey.port,
              fingerprint: r.hostKey.fingerprint,
            });
            return ferry().testConnection(req);
          });
          if (done) showResult(req, done);
        });
        replaceChildren(
          result,
          h(
            'section',
            { class: 'hostkey-confirm', role: 'alert' },
            h('strong', {}, t('firstConnectTitle', { host: `${r.hostKey.host}:${r.hostKey.port}` })),
            h('p', {}, t('firstConnectBody')),
            h('p', {}, h('code', { class: 'fingerprint' }, `${r.hostKey.keyType} ${r.hostKey.fingerprint}`)),
            h('div', { class: 'actions' }, trust),
          ),
        );
        trust.focus();
        return;
      }
      case 'changed-host-key':
        replaceChildren(
          result,
          h(
            'section',
            { class: 'hostkey-changed', role: 'alert' },
            h('strong', {}, t('changedTitle')),
            h('p', {}, t('changedBody')),
            h(
              'dl',
              {},
              h('dt', {}, t('changedKnown')),
              ...r.knownFingerprints.map((f) => h('dd', {}, h('code', { class: 'fingerprint known' }, f))),
              h('dt', {}, t('changedPresented')),
              h('dd', {}, h('code', { class: 'fingerprint presented' }, r.hostKey.fingerprint)),
            ),
            h('details', {}, h('summary', {}, 'ssh'), h('p', { class: 'muted' }, r.message)),
          ),
        );
        return;
      case 'revoked-host-key':
        replaceChildren(
          result,
          h(
            'section',
            { class: 'hostkey-changed', role: 'alert' },
            h('strong', {}, t('revokedTitle')),
            h('p', {}, r.message),
          ),
        );
        return;
      case 'failed':
        showError(r.message);
        return;
    }
  };

  const browseTo = async (path: string) => {
    const req = request();
    if (!req) return;
    const listing = await busy(browse, 'testing', () => ferry().browseRemote({ ...req, remotePath: path }));
    browser.hidden = false;
    if (!listing) {
      const create = h('button', { type: 'button' }, t('createRemote'));
      create.addEventListener('click', async () => {
        if ((await busy(create, 'testing', () => ferry().makeRemoteDir({ ...req, remotePath: path }))) !== undefined)
          void browseTo(path);
      });
      replaceChildren(browser, h('p', {}, h('code', {}, path)), create);
      return;
    }
    remote.value = listing.path;
    invalidate();
    const parent = listing.path === '/' ? undefined : listing.path.replace(/\/[^/]+$/, '') || '/';
    replaceChildren(
      browser,
      h('p', {}, h('code', {}, listing.path)),
      h(
        'ul',
        { class: 'dir-list' },
        parent
          ? h('li', {}, h('button', { type: 'button', onclick: () => void browseTo(parent) }, `↑ ${t('up')}`))
          : null,
        ...listing.dirs.map((d) =>
          h(
            'li',
            {},
            h(
              'button',
              { type: 'button', onclick: () => void browseTo(`${listing.path === '/' ? '' : listing.path}/${d}`) },
              `${d}/`,
            ),
          ),
        ),
      ),
    );
  };

  choose.addEventListener('click', async () => {
    const picked = await ferry()
      .chooseLocalFolder()
      .catch((err: Error) => (showError(err.message), null));
    if (picked) local.value = picked;
  });
  browse.addEventListener('click', () => void browseTo(remote.value.trim() || '/'));
  testButton.addEventListener('click', () => void test());
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const req = request();
    if (!req || JSON.stringify(req) !== testedFor) return invalidate();
    if (!local.value.trim()) {
      showError(t('fieldRequired', { field: t('localFolder') }));
      local.focus();
      return;
    }
    const entry = await busy(addButton, 'adding', () =>
      ferry().addFolder({
        ...req,
        localPath: local.value.trim(),
        mode: mode.value === 'mirror' || mode.value === 'upload' ? mode.value : 'push',
        ignore: ignore.value
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== ''),
      }),
    );
    if (entry) {
      opts.onAdded(entry);
      dialog.close();
    } else {
      addButton.disabled = testedFor === undefined;
    }
  });

  void ferry()
    .listSshAliases()
    .then((names) => replaceChildren(aliases, ...names.map((n) => h('option', { value: n }))))
    .catch(() => undefined);

  document.body.append(dialog);
  dialog.showModal();
  (local.value ? host : local).focus();
  return dialog;
}
