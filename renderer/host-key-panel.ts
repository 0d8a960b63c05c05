/**
 * What a connection test found, in the add dialog: connected, a first connection with the
 * fingerprint to confirm (and the trust button, focused), a changed or revoked key (a
 * blocking warning with nothing to click through), or the failure.
 */
import type { ConnectionRequest, HostKeyInfo, TestConnectionResult } from '../main/ipc/contract.ts';
import { h, replaceChildren } from './dom.ts';
import { t } from './i18n.ts';

export function errorText(message: string): HTMLElement {
  return h('p', { class: 'error-text', role: 'alert' }, message);
}

/** Renders `r` into `box`; returns the element that should take focus, if any. */
export function renderTestResult(
  box: HTMLElement,
  req: ConnectionRequest,
  r: TestConnectionResult,
  trust: (button: HTMLButtonElement, hostKey: HostKeyInfo) => void,
): HTMLElement | undefined {
  switch (r.outcome) {
    case 'ok':
      replaceChildren(
        box,
        h('p', { class: 'ok-text', role: 'status' }, t('connectedOk', { fingerprint: r.hostKey.fingerprint })),
        r.remotePathExists ? null : h('p', { class: 'muted' }, t('remoteMissing', { path: req.remotePath })),
      );
      return undefined;
    case 'unknown-host-key': {
      const button = h('button', { type: 'button', class: 'primary trust-button' }, t('trustKey'));
      button.addEventListener('click', () => trust(button, r.hostKey));
      replaceChildren(
        box,
        h(
          'section',
          { class: 'hostkey-confirm', role: 'alert' },
          h('strong', {}, t('firstConnectTitle', { host: `${r.hostKey.host}:${r.hostKey.port}` })),
          h('p', {}, t('firstConnectBody')),
          h('p', {}, h('code', { class: 'fingerprint' }, `${r.hostKey.keyType} ${r.hostKey.fingerprint}`)),
          h('div', { class: 'actions' }, button),
        ),
      );
      return button;
    }
    case 'changed-host-key':
      replaceChildren(
        box,
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
      return undefined;
    case 'revoked-host-key':
      replaceChildren(
        box,
        h(
          'section',
          { class: 'hostkey-changed', role: 'alert' },
          h('strong', {}, t('revokedTitle')),
          h('p', {}, r.message),
        ),
      );
      return undefined;
    case 'failed':
      replaceChildren(box, errorText(r.message));
      return undefined;
  }
}
