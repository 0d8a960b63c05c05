/**
 * A folder with several targets: one row per target ("web1 · In sync", "web2 · Error: …")
 * with its own Commands (after sync), Pause/Resume and Remove buttons, and under a target whose command after sync
 * failed, that command's exit status, duration and last lines of output. Only what each
 * target's status says; nothing for one target (its controls are the card's).
 *
 * Rows are rebuilt when a target's state changes; a row button that had focus gets it back
 * in the rebuilt row (Pause becomes Resume in place), so the keyboard user stays put.
 */
import type { FolderStatus } from '../main/ipc/contract.ts';
import type { HookReport } from '../main/engine/status.ts';
import { folderDisplayState } from '../main/app-core/tray-state.ts';
import { h, replaceChildren } from './dom.ts';
import { t } from './i18n.ts';

/** The host of a target's `remote` (`ssh://user@host:port/path`), with a port other than 22. */
export function targetName(remote: string): string {
  const m = /^(?:ssh:\/\/)?(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/.exec(remote);
  if (!m) return remote;
  return m[2] && m[2] !== '22' ? `${m[1]}:${m[2]}` : (m[1] ?? remote);
}

/** How a command after sync ended: "exit status 4", "timed out", or why it could not run. */
export function hookHow(hk: HookReport): string {
  return hk.timedOut
    ? t('hookTimedOut')
    : hk.exitCode !== null
      ? t('hookExit', { code: hk.exitCode })
      : (hk.error ?? hk.signal ?? '');
}

function hookText(hk: HookReport): string {
  return t('hookFailed', { command: hk.command, how: hookHow(hk), seconds: (hk.durationMs / 1000).toFixed(1) });
}

/** A target's state in words; a follower waiting for a canary still at work names it. */
function stateWords(s: FolderStatus): string {
  const display = folderDisplayState(s);
  if (s.state === 'held' && s.held && display === 'syncing')
    return t('targetWaiting', { server: targetName(s.held.canary) });
  return t(`state.${display}`);
}

export interface TargetActions {
  /** Opens the server's commands after sync. */
  commands(target: string): void;
  pause(target: string): void;
  resume(target: string): void;
  remove(target: string): void;
}

export class TargetRows {
  readonly el = h('ul', { class: 'target-rows', hidden: true });
  private key = '';
  private readonly actions: TargetActions;

  constructor(actions: TargetActions) {
    this.actions = actions;
  }

  /** The button that had focus, as (target, which) to find it again after a rebuild. */
  private focused(): { remote: string; which: string } | undefined {
    const a = document.activeElement;
    if (!(a instanceof HTMLElement) || !this.el.contains(a)) return undefined;
    const remote = a.closest<HTMLElement>('.target-row')?.dataset.remote;
    return remote !== undefined && a.dataset.which ? { remote, which: a.dataset.which } : undefined;
  }

  private controls(s: FolderStatus): HTMLElement {
    const name = targetName(s.remote);
    const paused = s.state === 'paused';
    const button = (which: string, label: string, aria: string, onclick: () => void) =>
      h(
        'button',
        { type: 'button', class: `small target-${which}`, 'data-which': which, 'aria-label': aria, onclick },
        label,
      );
    return h(
      'span',
      { class: 'target-actions' },
      paused
        ? button('pause', t('targetResume'), t('targetResumeLabel', { server: name }), () =>
            this.actions.resume(s.remote),
          )
        : button('pause', t('targetPause'), t('targetPauseLabel', { server: name }), () =>
            this.actions.pause(s.remote),
          ),
      button('commands', t('targetCommands'), t('targetCommandsLabel', { server: name }), () =>
        this.actions.commands(s.remote),
      ),
      button('remove', t('targetRemove'), t('targetRemoveLabel', { server: name }), () =>
        this.actions.remove(s.remote),
      ),
    );
  }

  update(status: FolderStatus): void {
    // One target: its status is the folder's, and only a failed command gets a row.
    const targets = (status.targets?.length ?? 0) >= 2 ? (status.targets ?? []) : status.hookFailed ? [status] : [];
    const single = targets.length === 1;
    this.el.hidden = targets.length === 0;
    const key = JSON.stringify(
      targets.map((s) => [s.remote, s.state, s.inSync, s.lastError, s.hookFailed?.at, s.held?.failed]),
    );
    if (key === this.key) return;
    this.key = key;
    if (targets.length === 0) return void replaceChildren(this.el);
    const focused = this.focused();
    replaceChildren(
      this.el,
      ...targets.map((s) => {
        const display = folderDisplayState(s);
        const hk = s.hookFailed;
        return h(
          'li',
          { class: 'target-row', 'data-state': display, 'data-remote': s.remote, title: s.remote },
          single
            ? display === 'error' && s.lastError
              ? h('span', { class: 'error-text' }, ` — ${s.lastError}`)
              : null
            : h(
                'div',
                { class: 'target-line' },
                h(
                  'span',
                  { class: 'target-label' },
                  h('strong', {}, targetName(s.remote)),
                  ` · ${stateWords(s)}`,
                  display === 'error' && s.lastError ? h('span', { class: 'error-text' }, ` — ${s.lastError}`) : null,
                ),
                this.controls(s),
              ),
          hk
            ? h(
                'div',
                { class: 'hook-failed' },
                h('span', { class: 'error-text' }, hookText(hk)),
                hk.output.length ? h('pre', { class: 'hook-output' }, hk.output.slice(-5).join('\n')) : null,
              )
            : null,
        );
      }),
    );
    if (focused)
      [...this.el.querySelectorAll<HTMLElement>('.target-row')]
        .find((row) => row.dataset.remote === focused.remote)
        ?.querySelector<HTMLElement>(`[data-which="${focused.which}"]`)
        ?.focus();
  }
}
