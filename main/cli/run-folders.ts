/**
 * Runs folders until SIGINT/SIGTERM (watch mode) or for one pass (`--once`), wiring engine
 * events to a reporter. A second signal while stopping exits at once.
 */
import { FolderSync, type FolderDeps, type FolderOnceSummary } from '../engine/folder-loop.ts';
import type { FolderConfig } from '../engine/folder-loop.ts';
import type { FolderStatus } from '../engine/status.ts';
import { dirname } from 'node:path';
import { ControlServer } from '../control/server.ts';
import { groupFailures } from '../engine/failure-groups.ts';
import { laneConfig, targetsOf } from '../engine/folder-config.ts';
import { previewFolder } from '../engine/preview.ts';
import { openTransports } from '../transport/open-transport.ts';
import { PERMANENT_ERROR_KINDS } from '../engine/target-connection.ts';
import type { Reporter } from './reporter.ts';

/**
 * `held`: a canary rollout's first target failed (its commands or its sync), so the others
 * were not synced. `hookFailed`: everything synced, but a command after sync failed.
 */
export const EXIT = { ok: 0, notInSync: 1, usage: 2, halted: 3, failed: 4, held: 5, hookFailed: 6 } as const;

/**
 * Wires a folder's events to the reporter, each target's status on its own (with one
 * target, the folder's); returns the check that reports newly skipped paths.
 */
function wire(sync: FolderSync, reporter: Reporter): (s: FolderStatus) => void {
  const id = sync.config.id;
  const noteSkipped = skippedOnce(id, reporter);
  sync.on('target', (s) => {
    reporter.status(s);
    noteSkipped(s);
  });
  sync.on('targetSynced', (s) => reporter.synced(s));
  sync.on('file', (o, target) => reporter.file(id, o, target));
  sync.on('conflict', (c, target) => reporter.conflict(id, c, target));
  sync.on('pass', (r, target) => reporter.pass(id, r, target));
  sync.on('hook', (h) => reporter.hook(id, h));
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

/** What the folders are given: who answers login prompts such as a one-time code (a terminal). */
export type RunDeps = Pick<FolderDeps, 'answerPrompts'>;

export async function runOnce(config: FolderConfig, reporter: Reporter, deps: RunDeps = {}): Promise<number> {
  const sync = new FolderSync(config, deps);
  const noteSkipped = wire(sync, reporter);
  let summary: FolderOnceSummary;
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
  if (summary.held) {
    const held = (status.targets ?? [status]).find((s) => s.held)?.held;
    reporter.error(
      `Held: ${held?.message ?? 'the canary failed'} Not synced: ${sync.targets.slice(1).join(', ')}.`,
      config.id,
    );
    return EXIT.held;
  }
  const did = [
    `${summary.uploaded} file(s) uploaded`,
    `${summary.removed} removed`,
    ...(summary.conflicts ? [`${summary.conflicts} conflict(s) logged in ${sync.conflictFile}`] : []),
  ].join(', ');
  if (summary.inSync) {
    for (const s of status.targets ?? [status]) reporter.synced({ ...s, state: 'idle', inSync: true });
    if (summary.hookFailed) {
      reporter.error(`Synced (${did}), but a command after sync failed (see above).`, config.id);
      return EXIT.hookFailed;
    }
    reporter.info(`Done: ${did}.`);
    return EXIT.ok;
  }
  const failed = groupFailures(status.failedItems)
    .map((line) => `  ${line}`)
    .join('\n');
  reporter.error(
    `Not in sync (${did}): ${status.failedItems.length} item(s) failed and will be retried on the next run:\n${failed}`,
    config.id,
  );
  return EXIT.notInSync;
}

/** `--dry-run`: what a sync would do, with nothing changed; exit 0 (4 when Ferry could not connect or scan). */
export async function runDryRun(config: FolderConfig, reporter: Reporter, deps: RunDeps = {}): Promise<number> {
  const { answerPrompts } = deps;
  const open = answerPrompts
    ? {
        openTransports: ((e, l, c, o) =>
          openTransports(e, l, c, { ...o, answerPrompts })) satisfies typeof openTransports,
      }
    : {};
  try {
    for (const t of targetsOf(config)) reporter.plan(config.id, await previewFolder(laneConfig(config, t), open));
    reporter.done();
    return EXIT.ok;
  } catch (err) {
    reporter.error((err as Error).message, config.id);
    return EXIT.failed;
  }
}

export interface WatchOptions {
  /** Reads the folder set again on SIGHUP (`ferry daemon`); throws a sentence naming the bad key. */
  reload?: () => Promise<FolderConfig[]>;
  /** Listen on a control socket for `ferry status` and friends (default true). */
  control?: boolean;
  /**
   * End with exit 4 on an error retrying cannot clear (`ferry sync`: a host key to confirm,
   * a refused login, a remote folder that cannot be created). The daemon keeps retrying.
   */
  exitOnPermanentError?: boolean;
  /** Asks a person the login prompts only they can answer (`ferry sync` on a terminal). */
  answerPrompts?: FolderDeps['answerPrompts'];
}

/** The state root a folder's state directory lies in (`<root>/folders/<id>`, folder-state-dir.ts). */
const stateRootOf = (c: FolderConfig) => dirname(dirname(c.stateDir));

export async function runWatching(
  configs: FolderConfig[],
  reporter: Reporter,
  opts: WatchOptions = {},
): Promise<number> {
  const running = new Map<string, FolderSync>();
  const servers: ControlServer[] = [];
  const startOne = (c: FolderConfig) => {
    const s = new FolderSync(c, opts.answerPrompts ? { answerPrompts: opts.answerPrompts } : {});
    wire(s, reporter);
    if (opts.exitOnPermanentError)
      s.on('status', (st) => {
        if (st.state === 'error' && st.lastErrorKind && PERMANENT_ERROR_KINDS.has(st.lastErrorKind) && !stopping) {
          exitCode = EXIT.failed;
          stop();
        }
      });
    s.on('status', (st) => servers.forEach((srv) => srv.publish(st)));
    running.set(c.id, s);
    return s.start();
  };
  let reloading: Promise<void> = Promise.resolve();
  let exitCode: number = EXIT.ok;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    if (stopping) {
      reporter.error('Second signal: exiting without waiting for transfers in flight.');
      process.exit(130);
    }
    reporter.info('Stopping: finishing transfers in flight and saving state...');
    stopping = reloading.then(() => Promise.all([...running.values()].map((s) => s.stop()))).then(() => undefined);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const reload = opts.reload;
  const onHangUp = () => {
    if (!reload || stopping) return;
    reloading = reloading.then(() => reloadFolders(running, reload, startOne, reporter));
  };
  if (reload) process.on('SIGHUP', onHangUp);
  try {
    await Promise.all(configs.map(startOne));
  } catch (err) {
    reporter.error((err as Error).message);
    await Promise.all([...running.values()].map((s) => s.stop().catch(() => undefined)));
    return EXIT.failed;
  }
  if (opts.control ?? true) {
    const host = { syncs: () => [...running.values()] };
    for (const root of new Set(configs.map(stateRootOf))) {
      try {
        servers.push(await ControlServer.listen(root, host));
      } catch (err) {
        reporter.error(
          `No control socket (ferry status, pause, why will not reach this process): ${(err as Error).message}`,
        );
      }
    }
  }
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (stopping) {
        clearInterval(check);
        void stopping.then(resolve);
      }
    }, 100);
  });
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
  if (reload) process.off('SIGHUP', onHangUp);
  reporter.done();
  return exitCode;
}

/**
 * SIGHUP: the new folder set replaces the running one. Added folders start, removed ones
 * stop, changed ones restart; a config that does not load is refused and nothing changes.
 */
async function reloadFolders(
  running: Map<string, FolderSync>,
  load: () => Promise<FolderConfig[]>,
  startOne: (c: FolderConfig) => Promise<void>,
  reporter: Reporter,
): Promise<void> {
  let next: FolderConfig[];
  try {
    next = await load();
  } catch (err) {
    reporter.error(
      `Reload refused; the ${running.size} running folder(s) carry on unchanged. ${(err as Error).message}`,
    );
    return;
  }
  const wanted = new Map(next.map((c) => [c.id, c]));
  const removed = [...running.keys()].filter((id) => !wanted.has(id));
  const changed = [...running.entries()]
    .filter(([id, s]) => wanted.has(id) && JSON.stringify(wanted.get(id)) !== JSON.stringify(s.config))
    .map(([id]) => id);
  const added = next.filter((c) => !running.has(c.id));
  for (const id of [...removed, ...changed]) {
    await running.get(id)?.stop();
    running.delete(id);
  }
  for (const c of [...changed.map((id) => wanted.get(id) as FolderConfig), ...added]) {
    try {
      await startOne(c);
    } catch (err) {
      running.delete(c.id);
      reporter.error(`Could not start ${c.localRoot}: ${(err as Error).message}`, c.id);
    }
  }
  reporter.info(
    `Config reloaded: ${added.length} folder(s) started, ${removed.length} stopped, ${changed.length} restarted.`,
  );
}
