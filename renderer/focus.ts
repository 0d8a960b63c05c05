/**
 * Focus that never falls to the page. The window remembers the last element the user had
 * focused (outside the toasts); when what had focus disappears (a panel that closed, a
 * button a re-render replaced) focus goes to the nearest sensible place instead of <body>.
 */
let last: HTMLElement | undefined;

export function trackFocus(): void {
  document.addEventListener('focusin', (ev) => {
    const el = ev.target;
    if (el instanceof HTMLElement && !el.closest('.messages')) last = el;
  });
}

/** True when nothing has focus (it fell to the page). */
export function focusLost(): boolean {
  const a = document.activeElement;
  return a === null || a === document.body || a === document.documentElement;
}

/** Focuses the first of `candidates` that is in the page and visible; false when none is. */
export function focusFirst(...candidates: (HTMLElement | null | undefined)[]): boolean {
  for (const c of candidates) {
    if (c && c.isConnected && !c.closest('[hidden]') && !(c as HTMLButtonElement).disabled) {
      c.focus();
      if (document.activeElement === c) return true;
    }
  }
  return false;
}

/** Where focus goes when the element that had it is gone: the last one, else the Add button. */
export function restoreFocus(): void {
  if (!focusLost()) return;
  if (!focusFirst(last, document.querySelector<HTMLElement>('.add-folder'))) document.querySelector('h1')?.focus();
}
