/**
 * A card's problem panel: a secret to enter, a halt to decide on, or an error. A halt on
 * deletes lists the first 50 server files it would delete; the safe choice (cancel the
 * deletes, or keep paused in mirror mode) comes first, is the primary button, and takes
 * focus when the panel appears and nothing else has it. No command-line text in the GUI.
 */
import type { FolderEntry, FolderStatus } from '../main/ipc/contract.ts';
import type { FolderDisplayState } from '../main/app-core/tray-state.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { focusLost } from './focus.ts';
import { t } from './i18n.ts';

export interface ProblemActions {
  resume(id: string): void;
  pause(id: string): void;
  retry(id: string): void;
  confirmDeletes(id: string): void;
  cancelDeletes(id: string): void;
  provideSecret(id: string, secret: string): void;
}

/** The engine's halt message without the command-line hint meant for `ferry` users. */
export function guiHaltMessage(message: string): string {
  return message.replace(/\s*\((?:in the Ferry window, )?or with --[a-z-]+ on the command line\)/g, '');
}

export class ProblemPanel {
  readonly el = h('div', { class: 'problem', role: 'alert', hidden: true });
  private key = '';
  private readonly actions: ProblemActions;

  constructor(actions: ProblemActions) {
    this.actions = actions;
  }

  /** Rebuilt only when what it says changes, so a focused button in it stays focused. */
  update(entry: FolderEntry, display: FolderDisplayState): void {
    const s = entry.status;
    const needs = entry.needsSecret;
    const key = needs
      ? `needs:${needs}`
      : display === 'halted'
        ? `halted:${s.halt?.reason}:${s.halt?.message}:${s.halt?.paths?.join('\n')}`
        : display === 'error' && s.lastError
          ? `error:${s.lastError}`
          : '';
    if (key === this.key) return;
    this.key = key;
    const id = entry.id;
    let focus: HTMLElement | undefined;
    if (needs) {
      const inputId = uid('secret');
      const input = h('input', { id: inputId, type: 'password', autocomplete: 'off', required: true });
      const form = h(
        'form',
        {
          class: 'secret-form',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            if (input.value) this.actions.provideSecret(id, input.value);
          },
        },
        h('label', { for: inputId }, t(needs === 'password' ? 'secret.password' : 'secret.passphrase')),
        input,
        h('button', { type: 'submit', class: 'primary' }, t('secret.start')),
      );
      replaceChildren(this.el, h('strong', {}, t('secret.title')), h('p', {}, s.lastError ?? ''), form);
    } else if (display === 'halted' && s.halt) {
      focus = this.renderHalt(id, s);
    } else if (key.startsWith('error:')) {
      replaceChildren(
        this.el,
        h('strong', {}, t('errorTitle')),
        h('p', { class: 'error-text' }, s.lastError ?? ''),
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', onclick: () => this.actions.retry(id) }, t('retryNow')),
        ),
      );
    }
    this.el.hidden = key === '';
    if (key === '') this.el.replaceChildren();
    if (focus && focusLost()) focus.focus();
  }

  private renderHalt(id: string, s: FolderStatus): HTMLElement {
    const halt = s.halt as NonNullable<FolderStatus['halt']>;
    if (halt.reason === 'root-missing') {
      const resume = h(
        'button',
        { type: 'button', class: 'primary', onclick: () => this.actions.resume(id) },
        t('halt.root-missing'),
      );
      replaceChildren(
        this.el,
        h('strong', {}, t('haltedTitle')),
        h('p', {}, guiHaltMessage(halt.message)),
        h('div', { class: 'actions' }, resume),
      );
      return resume;
    }
    const safe =
      s.mode === 'mirror'
        ? h(
            'button',
            { type: 'button', class: 'primary keep-paused', onclick: () => this.actions.pause(id) },
            t('halt.keepPaused'),
          )
        : h(
            'button',
            { type: 'button', class: 'primary cancel-deletes', onclick: () => this.actions.cancelDeletes(id) },
            t('halt.cancelDeletes'),
          );
    const count = halt.deletes ?? halt.paths?.length ?? 0;
    const confirm = h(
      'button',
      { type: 'button', class: 'danger confirm-deletes', onclick: () => this.actions.confirmDeletes(id) },
      t('halt.confirmCount', { count }),
    );
    const paths = halt.paths ?? [];
    const listId = uid('halt-paths');
    replaceChildren(
      this.el,
      h('strong', {}, t('haltedTitle')),
      h('p', {}, guiHaltMessage(halt.message)),
      paths.length
        ? h(
            'div',
            { class: 'halt-paths-box' },
            h('p', { id: listId, class: 'halt-paths-title' }, t('halt.wouldDelete', { count })),
            h(
              'ul',
              { class: 'halt-paths', 'aria-labelledby': listId, tabindex: 0 },
              ...paths.map((p) => h('li', {}, h('code', {}, p))),
            ),
            count > paths.length ? h('p', { class: 'muted' }, t('halt.more', { count: count - paths.length })) : null,
          )
        : null,
      h('div', { class: 'actions' }, safe, confirm),
    );
    return safe;
  }
}
