/** Short messages for the user (a dropped file, a failed action), read out by screen readers. */
import { h } from './dom.ts';

let region: HTMLElement | undefined;

export function messageRegion(): HTMLElement {
  region ??= h('div', { class: 'messages', role: 'status', 'aria-live': 'polite' });
  return region;
}

export function showMessage(text: string, kind: 'info' | 'error' = 'info'): void {
  const close = h('button', { type: 'button', class: 'message-close', 'aria-label': '×' }, '×');
  const item = h('div', { class: `message ${kind}` }, h('span', {}, text), close);
  close.addEventListener('click', () => item.remove());
  messageRegion().append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 20_000 : 8_000);
}
