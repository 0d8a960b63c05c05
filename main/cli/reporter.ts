/**
 * Output of the `ferry` command. Human mode: one line per notable event and a progress line
 * on a TTY; JSON mode: exactly one JSON object per line on stdout, nothing else on stdout.
 * Secrets never reach either (statuses and outcomes carry none).
 */
import type { FileOutcome } from '../engine/apply-plan.ts';
import type { ConflictRecord } from '../engine/conflict-log.ts';
import type { FolderStatus } from '../engine/status.ts';

export interface Reporter {
  status(s: FolderStatus): void;
  synced(s: FolderStatus): void;
  file(folder: string, o: FileOutcome): void;
  conflict(folder: string, c: ConflictRecord): void;
  error(message: string, folder?: string): void;
  info(message: string): void;
  /** Ends a progress line, if any. */
  done(): void;
}

export function jsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  const line = (o: object) => out.write(`${JSON.stringify(o)}\n`);
  let lastState = '';
  return {
    status(s) {
      // Every state change, not every progress tick.
      const key = `${s.id}:${s.state}:${s.inSync}:${s.halt?.reason ?? ''}:${s.lastError ?? ''}`;
      if (key === lastState) return;
      lastState = key;
      // Idle and in sync is synced()'s line. Idle with failed items waiting for their retry
      // is a state too: without it the last line said "scanning" while Ferry waited.
      if (s.state !== 'idle') line({ event: 'state', folder: s.id, state: s.state, status: s });
      else if (!s.inSync) line({ event: 'state', folder: s.id, state: 'idle', inSync: false, status: s });
    },
    synced(s) {
      line({ event: 'state', folder: s.id, state: 'idle', inSync: true, status: s });
    },
    file(folder, o) {
      line({ event: 'file', folder, ...o });
    },
    conflict(folder, c) {
      line({ event: 'conflict', folder, ...c });
    },
    error(message, folder) {
      line({ event: 'error', ...(folder ? { folder } : {}), message });
    },
    info(message) {
      line({ event: 'info', message });
    },
    done() {
      line({ event: 'stopped' });
    },
  };
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) ((n /= 1024), i++);
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function humanReporter(out: NodeJS.WriteStream = process.stderr, verbose = false): Reporter {
  const tty = out.isTTY === true;
  let progressShown = false;
  const clear = () => {
    if (progressShown) out.write('\r\x1b[K');
    progressShown = false;
  };
  const say = (text: string) => {
    clear();
    out.write(`${text}\n`);
  };
  let lastState = '';
  return {
    status(s) {
      if (s.state === 'syncing' && tty) {
        clear();
        const rate = s.throughputBps ? `, ${formatBytes(s.throughputBps)}/s` : '';
        out.write(
          `Syncing ${s.localRoot}: ${s.filesDone}/${s.filesTotal} items, ${formatBytes(s.bytesDone)} of ${formatBytes(s.bytesTotal)}${rate}`,
        );
        progressShown = true;
      }
      const key = `${s.state}:${s.halt?.reason ?? ''}:${s.lastError ?? ''}:${s.watcherMessage ?? ''}`;
      if (key === lastState) return;
      lastState = key;
      if (s.state === 'halted' && s.halt) say(`Halted: ${s.halt.message}`);
      else if (s.state === 'error' && s.lastError) say(`Error: ${s.lastError}`);
      if (s.watcher === 'polling' && s.watcherMessage) say(`Warning: ${s.watcherMessage}`);
    },
    synced(s) {
      const failed = s.failedItems.length ? `, ${s.failedItems.length} item(s) failing` : '';
      say(`In sync: ${s.localRoot} -> ${s.remote}${failed}`);
    },
    file(_folder, o) {
      if (!o.ok) say(`Failed to ${o.op} ${o.path}: ${o.error}`);
      else if (verbose) say(`${o.op} ${o.from ? `${o.from} -> ` : ''}${o.path}`);
    },
    conflict(_folder, c) {
      const what =
        c.action === 'kept-remote-copy'
          ? `the server's version was kept as ${c.conflictCopyPath ?? '(copy failed)'} and the local version pushed`
          : 'the local delete was not applied; the server keeps its version';
      say(`Conflict on ${c.path}: changed on the server since the last sync; ${what}.`);
    },
    error(message) {
      say(`Error: ${message}`);
    },
    info(message) {
      say(message);
    },
    done() {
      clear();
    },
  };
}
