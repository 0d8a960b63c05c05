/**
 * The status of a folder with several targets: one FolderStatus summing up its targets'
 * (each is listed whole in `targets`), so `ferry status`, the control socket and the app
 * read it like any folder's. The state is the most pressing of the targets' that are not
 * paused ('paused' only when every target is: one server paused on its own leaves the folder
 * syncing to the others, and the UI says "paused on 1 of 2"); the folder is in sync when
 * every target is (a paused one is not); counters add up; an error or halt names its target.
 */
import type { FolderState, FolderStatus } from './status.ts';

/** Most pressing first. */
const STATE_ORDER: readonly FolderState[] = [
  'error',
  'halted',
  'held',
  'syncing',
  'scanning',
  'starting',
  'paused',
  'idle',
];

export function combinedStatus(targets: FolderStatus[]): FolderStatus {
  const first = targets[0]!;
  const running = targets.filter((t) => t.state !== 'paused');
  const state = running.length
    ? (STATE_ORDER.find((s) => running.some((t) => t.state === s)) ?? first.state)
    : 'paused';
  const sum = (f: (t: FolderStatus) => number) => targets.reduce((n, t) => n + f(t), 0);
  const erring =
    targets.find((t) => t.lastError !== undefined && t.state === 'error') ??
    targets.find((t) => t.lastError !== undefined);
  const halted = targets.find((t) => t.state === 'halted' && t.halt);
  const held = targets.find((t) => t.state === 'held' && t.held);
  const hookFailed = targets.find((t) => t.hookFailed);
  const synced = targets.map((t) => t.lastSyncAt).filter((t) => t !== undefined);
  const {
    lastError: _e,
    lastErrorKind: _k,
    halt: _h,
    held: _held,
    hookFailed: _f,
    lastSyncAt: _l,
    transport: _t,
    ...base
  } = first;
  return {
    ...base,
    remote: targets.map((t) => t.remote).join(', '),
    state,
    ...(halted?.halt ? { halt: { ...halted.halt, message: `${halted.remote}: ${halted.halt.message}` } } : {}),
    ...(held?.held ? { held: held.held } : {}),
    ...(erring?.lastError ? { lastError: `${erring.remote}: ${erring.lastError}` } : {}),
    ...(erring?.lastErrorKind ? { lastErrorKind: erring.lastErrorKind } : {}),
    ...(hookFailed?.hookFailed ? { hookFailed: hookFailed.hookFailed } : {}),
    // The oldest: the folder was last wholly in sync no later than that.
    ...(synced.length === targets.length ? { lastSyncAt: synced.sort()[0]! } : {}),
    queued: Math.max(...targets.map((t) => t.queued)),
    inFlight: sum((t) => t.inFlight),
    filesDone: sum((t) => t.filesDone),
    filesTotal: sum((t) => t.filesTotal),
    bytesDone: sum((t) => t.bytesDone),
    bytesTotal: sum((t) => t.bytesTotal),
    throughputBps: sum((t) => t.throughputBps),
    failedItems: targets.flatMap((t) => t.failedItems),
    conflictCount: sum((t) => t.conflictCount),
    inSync: targets.every((t) => t.state === 'idle' && t.inSync),
    targets,
  };
}
