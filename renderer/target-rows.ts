/**
 * A folder with several targets: one row per target ("web1 · In sync", "web2 · Error: …"),
 * and under a target whose command after sync failed, that command's exit status, duration
 * and last lines of output. Only what each target's status says; nothing for one target.
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

function hookText(hk: HookReport): string {
  const how = hk.timedOut
    ? t('hookTimedOut')
    : hk.exitCode !== null
      ? t('hookExit', { code: hk.exitCode })
      : (hk.error ?? hk.signal ?? '');
  return t('hookFailed', { command: hk.command, how, seconds: (hk.durationMs / 1000).toFixed(1) });
}

export class TargetRows {
  readonly el = h('ul', { class: 'target-rows', hidden: true });
  private key = '';

  update(status: FolderStatus): void {
    // One target: its status is the folder's, and only a failed command gets a row.
    const targets = (status.targets?.length ?? 0) >= 2 ? (status.targets ?? []) : status.hookFailed ? [status] : [];
    const single = targets.length === 1;
    this.el.hidden = targets.length === 0;
    const key = JSON.stringify(targets.map((s) => [s.remote, s.state, s.inSync, s.lastError, s.hookFailed?.at]));
    if (key === this.key) return;
    this.key = key;
    if (targets.length === 0) return void replaceChildren(this.el);
    replaceChildren(
      this.el,
      ...targets.map((s) => {
        const display = folderDisplayState(s);
        const hk = s.hookFailed;
        return h(
          'li',
          { class: 'target-row', 'data-state': display, 'data-remote': s.remote, title: s.remote },
          single ? null : h('strong', {}, targetName(s.remote)),
          single ? null : ` · ${t(`state.${display}`)}`,
          display === 'error' && s.lastError ? h('span', { class: 'error-text' }, ` — ${s.lastError}`) : null,
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
  }
}
