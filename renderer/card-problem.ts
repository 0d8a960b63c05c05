/**
 * A card's problem panel: a secret to enter, a halt to decide on, a canary rollout held
 * back (which server failed how, its command's last output lines), or an error. A halt on
 * deletes lists the first 50 server files it would delete; the safe choice (cancel the
 * deletes, or keep paused in mirror mode) comes first, is the primary button, and takes
 * focus when the panel appears and nothing else has it. No command-line text in the GUI.
 */
import type { FolderEntry, FolderStatus } from '../main/ipc/contract.ts';
import type { FolderDisplayState } from '../main/app-core/tray-state.ts';
import { h, replaceChildren, uid } from './dom.ts';
import { focusLost } from './focus.ts';
import { t } from './i18n.ts';
import { hookHow, targetName } from './target-rows.ts';

export interface ProblemActions {
  /** Opens a server's commands after sync (a held rollout's fix). */
  editCommands?(target: string): void;
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
        : display === 'held'
          ? `held:${heldText(s)}:${heldOutput(s).join('\n')}`
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
    } else if (display === 'held') {
      this.renderHeld(s);
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

  private renderHeld(s: FolderStatus): void {
    const canary = s.held?.canary ?? '';
    const server = targetName(canary);
    const held = (s.targets ?? []).filter((x) => x.state === 'held').map((x) => targetName(x.remote));
    const output = heldOutput(s);
    const outputId = uid('held-output');
    replaceChildren(
      this.el,
      h('strong', {}, t('heldTitle')),
      h('p', { class: 'held-text' }, heldText(s)),
      output.length
        ? h(
            'div',
            { class: 'held-output-box' },
            h('p', { id: outputId, class: 'held-output-title' }, t('heldOutput', { server })),
            h('pre', { class: 'hook-output', 'aria-labelledby': outputId, tabindex: 0 }, output.join('\n')),
          )
        : null,
      held.length ? h('p', { class: 'held-who' }, t('heldWho', { servers: held.join(', '), server })) : null,
      canaryOf(s)?.hookFailed && this.actions.editCommands
        ? h(
            'div',
            { class: 'actions' },
            h(
              'button',
              { type: 'button', class: 'held-edit', onclick: () => this.actions.editCommands?.(canary) },
              t('heldEdit', { server }),
            ),
          )
        : null,
    );
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

/** The canary target a held folder waits for (its own status, from the folder's). */
function canaryOf(s: FolderStatus): FolderStatus | undefined {
  return (s.targets ?? []).find((x) => x.remote === s.held?.canary);
}

/** Why a rollout is held, in one sentence read from the canary's own status. */
export function heldText(s: FolderStatus): string {
  const server = targetName(s.held?.canary ?? '');
  const c = canaryOf(s);
  if (c?.hookFailed) return t('heldHook', { server, how: hookHow(c.hookFailed) });
  if (c?.state === 'halted') return t('heldHalted', { server, message: guiHaltMessage(c.halt?.message ?? '') });
  if (c?.lastError) return t('heldError', { server, error: c.lastError });
  if (c?.failedItems.length) return t('heldItems', { server, count: c.failedItems.length });
  return s.held?.message ?? '';
}

/** The failed command's last lines of output (at most 10). */
function heldOutput(s: FolderStatus): string[] {
  return (canaryOf(s)?.hookFailed?.output ?? s.held?.output ?? []).slice(-10);
}
