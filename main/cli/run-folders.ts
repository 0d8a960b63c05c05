/**
 * Runs folders until SIGINT/SIGTERM (watch mode) or for one pass (`--once`), wiring engine
 * events to a reporter. A second signal while stopping exits at once.
 */
import { FolderSync, type PassSummary } from '../engine/folder-loop.ts';
import type { FolderConfig } from '../engine/folder-loop.ts';
import type { FolderStatus } from '../engine/status.ts';
import type { Reporter } from './reporter.ts';

export const EXIT = { ok: 0, notInSync: 1, usage: 2, halted: 3, failed: 4 } as const;

/** Wires a folder's events to the reporter; returns the check that reports newly skipped paths. */
function wire(sync: FolderSync, reporter: Reporter): (s: FolderStatus) => void {
  const noteSkipped = skippedOnce(sync.config.id, reporter);
  sync.on('status', (s) => {
    reporter.status(s);
    noteSkipped(s);
  });
  sync.on('synced', (s) => reporter.synced(s));
  sync.on('file', (o) => reporter.file(sync.config.id, o));
  sync.on('conflict', (c) => reporter.conflict(sync.config.id, c));
  sync.on('pass', (r) => reporter.pass(sync.config.id, r));
  return noteSkipped;
}

/**
 * Says each skipped socket, FIFO or device once, not on every pass: the status lists them all
 * the time. A path that stops being one and later is one again is said again.
 */
function skippedOnce(folder: string, reporter: Reporter): (s: FolderStatus) => void {
  let said = new Set<string>();
  return (s) => {
    for (const item of s.skipped) if (!said.has(item.path)) reporter.skipped(folder, item);
    said = new Set(s.skipped.map((item) => item.path));
  };
}

export async function runOnce(config: FolderConfig, reporter: Reporter): Promise<number> {
  const sync = new FolderSync(config);
  const noteSkipped = wire(sync, reporter);
  let summary: PassSummary;
  try {
    summary = await sync.runOnce();
  } catch (err) {
    reporter.error((err as Error).message, config.id);
    return EXIT.failed;
  }
  const status = sync.status();
  noteSkipped(status);
  reporter.done();
  if (summary.halted) return EXIT.halted;
  const did = [
    `${summary.uploaded} file(s) uploaded`,
    `${summary.removed} removed`,
    ...(summary.conflicts ? [`${summary.conflicts} conflict(s) logged in ${sync.conflictFile}`] : []),
  ].join(', ');
  if (summary.inSync) {
    reporter.synced({ ...status, state: 'idle', inSync: true });
    reporter.info(`Done: ${did}.`);
    return EXIT.ok;
  }
  const failed = status.failedItems.map((f) => `  ${f.path}: ${f.error}`).join('\n');
  reporter.error(
    `Not in sync (${did}): ${status.failedItems.length} item(s) failed and will be retried on the next run:\n${failed}`,
    config.id,
  );
  return EXIT.notInSync;
}

export async function runWatching(configs: FolderConfig[], reporter: Reporter): Promise<number> {
  const syncs = configs.map((c) => new FolderSync(c));
  for (const s of syncs) wire(s, reporter);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    if (stopping) {
      reporter.error('Second signal: exiting without waiting for transfers in flight.');
      process.exit(130);
    }
    reporter.info('Stopping: finishing transfers in flight and saving state...');
    stopping = Promise.all(syncs.map((s) => s.stop())).then(() => undefined);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await Promise.all(syncs.map((s) => s.start()));
  } catch (err) {
    reporter.error((err as Error).message);
    await Promise.all(syncs.map((s) => s.stop().catch(() => undefined)));
    return EXIT.failed;
  }
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (stopping) {
        clearInterval(check);
        void stopping.then(resolve);
      }
    }, 100);
  });
  reporter.done();
  return EXIT.ok;
}
