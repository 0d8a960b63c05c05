/**
 * Toasts for the user (a dropped file, a failed action), read out by screen readers. They
 * never take focus; an error stays until dismissed, other messages for 30 s; at most four
 * are shown. Closing one puts focus back where the user was.
 */
import { h } from './dom.ts';
import { restoreFocus } from './focus.ts';
import { t } from './i18n.ts';

let region: HTMLElement | undefined;

export function messageRegion(): HTMLElement {
  region ??= h('div', { class: 'messages', role: 'status', 'aria-live': 'polite' });
  return region;
}

export function showMessage(text: string, kind: 'info' | 'error' = 'info'): void {
  const close = h('button', { type: 'button', class: 'message-close', 'aria-label': t('dismiss') }, '×');
  const item = h('div', { class: `message ${kind}` }, h('span', {}, text), close);
  close.addEventListener('click', () => {
    item.remove();
    restoreFocus();
  });
  const r = messageRegion();
  r.append(item);
  while (r.children.length > 4) r.firstElementChild?.remove();
  if (kind === 'info') setTimeout(() => item.remove(), 30_000);
}
