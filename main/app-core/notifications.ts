/**
 * When Ferry interrupts the user with a system notification: only when they must act.
 *
 * Rules (each notice has a key; a key is shown at most once while its cause lasts):
 * - A new conflict: once per conflict-log record (folder, time, path).
 * - A folder became halted: once per halt episode and reason. The periodic re-check passes
 *   through 'scanning' and does not end the episode; reaching 'syncing', 'idle' or 'paused' does.
 * - A changed (or revoked) host key: once per error episode of that kind (`lastErrorKind`).
 * - A folder that waits for its password or passphrase (no keyring kept it): at once, once
 *   per episode.
 * - An error that outlasts its retries: a folder in error continuously for `errorGraceMs`
 *   (reconnect attempts pass through 'starting' and 'scanning' and do not end the episode;
 *   reaching 'syncing', 'idle' or 'paused' does), once per episode.
 * - A file that keeps failing: once per path when its attempts reach `failedAttempts`, again
 *   only after it stopped failing.
 * - A command after sync that failed: once per run (its target and end time).
 * Everything else (syncing, recovering, a short outage) is for the tray icon, not a notice.
 * Pure: time comes in as `now` (ms), so tests need no clock.
 */
import type { ConflictRecord } from '../engine/conflict-log.ts';
import type { FolderStatus } from '../engine/status.ts';
import { fill, shellStrings, type ShellLanguage } from './shell-strings.ts';
import { folderLabel } from './tray-menu.ts';

export type NoticeKind =
  'conflict' | 'halted' | 'host-key-changed' | 'needs-secret' | 'error-persists' | 'file-failing' | 'hook-failed';

export interface Notice {
  key: string;
  kind: NoticeKind;
  folderId: string;
  title: string;
  body: string;
}

export interface NotificationRuleOptions {
  language?: ShellLanguage;
  /** Default 10 minutes. */
  errorGraceMs?: number;
  /** Default 5. */
  failedAttempts?: number;
}

interface FolderMemo {
  errorSince?: number;
  errorNotified: boolean;
  actNowNotified: boolean;
  haltReason?: string;
  failing: Set<string>;
  last?: FolderStatus;
}

export class NotificationRules {
  private readonly opts: Required<NotificationRuleOptions>;
  private readonly memo = new Map<string, FolderMemo>();
  private readonly seenConflicts = new Set<string>();
  private readonly seenHooks = new Set<string>();

  constructor(opts: NotificationRuleOptions = {}) {
    this.opts = {
      language: opts.language ?? 'en',
      errorGraceMs: opts.errorGraceMs ?? 10 * 60_000,
      failedAttempts: opts.failedAttempts ?? 5,
    };
  }

  setLanguage(language: ShellLanguage): void {
    this.opts.language = language;
  }

  private t() {
    return shellStrings(this.opts.language);
  }

  private folderMemo(id: string): FolderMemo {
    let m = this.memo.get(id);
    if (!m) {
      m = { errorNotified: false, actNowNotified: false, failing: new Set() };
      this.memo.set(id, m);
    }
    return m;
  }

  onConflict(folderId: string, folder: Pick<FolderStatus, 'localRoot'>, record: ConflictRecord): Notice[] {
    const key = `conflict:${folderId}:${record.time}:${record.path}`;
    if (this.seenConflicts.has(key)) return [];
    this.seenConflicts.add(key);
    const name = folderLabel(folder);
    return [
      {
        key,
        kind: 'conflict',
        folderId,
        title: fill(this.t().conflictTitle, { folder: name }),
        body: fill(this.t().conflictBody, { path: record.path }),
      },
    ];
  }

  onStatus(s: FolderStatus, now: number): Notice[] {
    const m = this.folderMemo(s.id);
    m.last = s;
    const name = folderLabel(s);
    const out: Notice[] = [];

    if (s.state === 'halted' && s.halt) {
      if (m.haltReason !== s.halt.reason) {
        m.haltReason = s.halt.reason;
        out.push({
          key: `halted:${s.id}:${s.halt.reason}`,
          kind: 'halted',
          folderId: s.id,
          title: fill(this.t().haltedTitle, { folder: name }),
          body: s.halt.message,
        });
      }
    } else if (s.state === 'syncing' || s.state === 'idle' || s.state === 'paused') {
      // Not 'scanning': a halted folder re-checks through 'scanning' every poll interval.
      delete m.haltReason;
    }

    if (s.state === 'error') {
      m.errorSince ??= now;
      if (!m.actNowNotified && (s.lastErrorKind === 'host-key-changed' || s.lastErrorKind === 'host-key-revoked')) {
        m.actNowNotified = true;
        out.push({
          key: `host-key:${s.id}`,
          kind: 'host-key-changed',
          folderId: s.id,
          title: fill(this.t().hostKeyTitle, { folder: name }),
          body: this.t().hostKeyBody,
        });
      }
      if (!m.actNowNotified && s.lastErrorKind === 'needs-secret') {
        // One "act now" notice per error episode (host key or secret), and no later "error persists".
        m.actNowNotified = true;
        out.push({
          key: `needs-secret:${s.id}`,
          kind: 'needs-secret',
          folderId: s.id,
          title: fill(this.t().needsSecretTitle, { folder: name }),
          body: s.lastError ?? '',
        });
      }
    } else if (s.state === 'syncing' || s.state === 'idle' || s.state === 'paused') {
      delete m.errorSince;
      m.errorNotified = false;
      m.actNowNotified = false;
    }
    out.push(...this.errorOutlasting(s.id, now));

    const failingNow = new Set<string>();
    for (const f of s.failedItems) {
      failingNow.add(f.path);
      if (f.attempts >= this.opts.failedAttempts && !m.failing.has(f.path)) {
        m.failing.add(f.path);
        out.push({
          key: `failing:${s.id}:${f.path}`,
          kind: 'file-failing',
          folderId: s.id,
          title: fill(this.t().failingTitle, { folder: name }),
          body: fill(this.t().failingBody, { path: f.path, error: f.error }),
        });
      }
    }
    for (const p of [...m.failing]) if (!failingNow.has(p)) m.failing.delete(p);

    for (const hk of [s.hookFailed, ...(s.targets ?? []).map((x) => x.hookFailed)]) {
      if (!hk) continue;
      const key = `hook:${s.id}:${hk.target}:${hk.at}`;
      if (this.seenHooks.has(key)) continue;
      this.seenHooks.add(key);
      const how = hk.timedOut
        ? 'timed out'
        : hk.exitCode !== null
          ? `exit status ${hk.exitCode}`
          : (hk.error ?? hk.signal ?? 'failed');
      out.push({
        key,
        kind: 'hook-failed',
        folderId: s.id,
        title: fill(this.t().hookTitle, { folder: name }),
        body: fill(this.t().hookBody, {
          command: hk.command,
          target: hk.target,
          how,
          output: hk.output.slice(-2).join(' / '),
        }).trim(),
      });
    }
    return out;
  }

  /** Call periodically: an error can outlast its grace time without a new status. */
  tick(now: number): Notice[] {
    return [...this.memo.keys()].flatMap((id) => this.errorOutlasting(id, now));
  }

  forget(folderId: string): void {
    this.memo.delete(folderId);
  }

  private errorOutlasting(id: string, now: number): Notice[] {
    const m = this.memo.get(id);
    if (!m || m.errorSince === undefined || m.errorNotified || m.actNowNotified) return [];
    if (now - m.errorSince < this.opts.errorGraceMs) return [];
    m.errorNotified = true;
    const s = m.last;
    return [
      {
        key: `error:${id}:${m.errorSince}`,
        kind: 'error-persists',
        folderId: id,
        title: fill(this.t().errorTitle, { folder: s ? folderLabel(s) : id }),
        body: s?.lastError ?? '',
      },
    ];
  }
}
