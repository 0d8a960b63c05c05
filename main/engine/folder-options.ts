/**
 * Turns what a user wrote (command-line flags or one entry of a daemon config) into a
 * FolderConfig. Shared by `ferry sync` and `ferry daemon`, so both accept the same options
 * with the same defaults and the same error messages.
 */
import { readlink, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FolderConfig, TargetConfig, TargetHooks } from './folder-config.ts';
import { defaultStateRoot, folderId, folderStateDir } from './folder-state-dir.ts';
import type { TransportChoice } from '../transport/open-transport.ts';
import type { SyncMode } from '../core/plan.ts';
import { endpointDisplay } from '../ssh/display.ts';
import type { HostKeyPolicy } from '../ssh/endpoint.ts';
import { resolveEndpoint } from '../ssh/resolve-endpoint.ts';

/** A target after the first, with its own commands after sync. */
export interface TargetOptions extends TargetHooks {
  target: string;
}

export interface FolderOptions {
  local: string;
  /** The first (or only) target. */
  target: string;
  /** The first target's commands after sync. */
  afterSync?: string;
  remoteAfterSync?: string;
  /** Further targets: one watcher and one local scan feed them all. */
  moreTargets?: TargetOptions[];
  /** Canary rollout: the first target gets each change first (canary.ts). */
  canary?: boolean;
  /** Commands after sync running longer are ended. */
  hookTimeoutMs?: number;
  mode?: SyncMode;
  identity?: string[];
  knownHosts?: string;
  hostKeyPolicy?: HostKeyPolicy;
  transport?: TransportChoice;
  ignore?: string[];
  stateDir?: string;
  allowMassDelete?: boolean;
  sshConfig?: string;
  password?: string;
  passphrase?: string;
  /** Files at least this many bytes go through rsync (auto transport): delta when modified. */
  deltaThreshold?: number;
  /** Passes with at least this many uploads send them through one rsync run (auto transport). */
  bulkThreshold?: number;
  /** Passes whose uploads add up to this many bytes use rsync too (auto transport). */
  bulkBytes?: number;
  pollIntervalMs?: number;
  /** Full pass interval while the watcher is live; 0 turns it off. */
  rescanIntervalMs?: number;
  /** Upload limit in bytes per second (`--bwlimit`, rate-limit.ts parseRate). */
  bwlimitBps?: number;
  /** Keep what Ferry deletes or overwrites on the server in `.ferry-trash/` ... */
  trash?: boolean;
  /** ... for this many days (default 30). */
  trashDays?: number;
}

/**
 * Files at least this large go through rsync: its delta transfer when the server has a copy,
 * a whole-file copy when it has none (about twice SFTP's speed for one new 1 GiB file here).
 * The threshold was measured for modified files. Measured here with
 * `npm run bench` (docs/BENCHMARKS.md): 1 MiB rewritten in the middle of a file, whole
 * `ferry sync --once` runs, full SFTP resend vs rsync delta: 32 MiB 529 vs 620 ms, 64 MiB
 * 774 vs 719 ms, 256 MiB 2.11 vs 1.16 s. The crossover lies between 32 and 64 MiB.
 */
/** How long the server trash keeps what Ferry deleted or overwrote. */
export const DEFAULT_TRASH_DAYS = 30;

export const DEFAULT_DELTA_THRESHOLD = 48 * 1024 * 1024;

/**
 * Where one rsync run overtakes pipelined SFTP (ferry --once into an empty directory on the
 * loopback bench server, 2 runs each, after hashing moved alongside the rsync run): 1,000
 * files of 4 KiB SFTP 0.75-0.87 s vs rsync 0.81-0.82 s (even); 1,000 files of 1 MiB SFTP
 * 7.0-8.0 s vs rsync 4.3-5.2 s; 10,000 files of 4 KiB rsync 2.0 s vs SFTP about 6 s.
 */
export const DEFAULT_BULK_THRESHOLD = 1000;

/**
 * The byte side of the same rule (with at least 16 files: upload-route.ts). rsync costs about
 * 0.3 s more to start than SFTP, and then moves mid-size files about 1.6x as fast (1,000 x
 * 1 MiB: 7.0-8.0 s SFTP vs 4.3-5.2 s rsync), so it pays from roughly 100 MB up.
 */
export const DEFAULT_BULK_BYTES = 128 * 1024 * 1024;

/**
 * A full pass while the watcher is live, as a safety net for events a watcher can miss (a
 * directory's chmod, a change made while a new directory's watch was being set up). One hour,
 * like Syncthing's rescanIntervalS: on the 100,000-file idle benchmark a full pass costs a few
 * seconds of CPU, well under 1% of a core averaged over the hour.
 */
export const DEFAULT_RESCAN_INTERVAL_MS = 60 * 60_000;

export class UsageError extends Error {}

export async function folderConfigFrom(o: FolderOptions): Promise<FolderConfig> {
  const localRoot = resolve(o.local);
  // The root as given is kept (display, state directory); a symbolic link is followed when
  // syncing (local-side.ts), so what it points to must be a folder.
  const st = await stat(localRoot).catch(() => undefined);
  const link = await readlink(localRoot).catch(() => undefined);
  if (link !== undefined && !st?.isDirectory())
    throw new UsageError(
      `The local folder ${localRoot} is a symbolic link to ${link}, which is missing or not a folder. Fix the link or give the folder itself.`,
    );
  if (!st) throw new UsageError(`The local folder ${localRoot} does not exist. Create it or check the path.`);
  if (!st.isDirectory())
    throw new UsageError(`${localRoot} is not a folder. Ferry syncs folders; give the folder that contains it.`);
  const stateRoot = o.stateDir ? resolve(o.stateDir) : defaultStateRoot();
  const target = (t: TargetOptions): TargetConfig => {
    const endpoint = resolveEndpoint(t.target, {
      ...(o.identity?.length ? { identityFiles: o.identity } : {}),
      ...(o.knownHosts ? { knownHostsPath: o.knownHosts } : {}),
      ...(o.hostKeyPolicy ? { hostKeyPolicy: o.hostKeyPolicy } : {}),
      ...(o.sshConfig ? { sshConfigPath: o.sshConfig } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
    });
    // Each target's own state directory, named as if the folder synced to it alone: the
    // first target's is the one this folder always had.
    const hooks: TargetHooks = {
      ...(t.afterSync !== undefined ? { afterSync: t.afterSync } : {}),
      ...(t.remoteAfterSync !== undefined ? { remoteAfterSync: t.remoteAfterSync } : {}),
    };
    return {
      endpoint,
      stateDir: folderStateDir(stateRoot, folderId(localRoot, endpointDisplay(endpoint))),
      ...(Object.keys(hooks).length ? { hooks } : {}),
    };
  };
  const first = target(o);
  const more = (o.moreTargets ?? []).map(target);
  const names = [first, ...more].map((t) => endpointDisplay(t.endpoint));
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`${twice} is given twice as a target of ${localRoot}.`);
  return {
    id: folderId(localRoot, names[0]!),
    localRoot,
    endpoint: first.endpoint,
    mode: o.mode ?? 'push',
    ignore: o.ignore ?? [],
    transport: o.transport ?? 'auto',
    stateDir: first.stateDir,
    ...(first.hooks ? { hooks: first.hooks } : {}),
    ...(more.length ? { moreTargets: more } : {}),
    ...(o.canary ? { canary: true } : {}),
    ...(o.hookTimeoutMs !== undefined ? { hookTimeoutMs: o.hookTimeoutMs } : {}),
    allowMassDelete: o.allowMassDelete ?? false,
    deltaThreshold: o.deltaThreshold ?? DEFAULT_DELTA_THRESHOLD,
    bulkThreshold: o.bulkThreshold ?? DEFAULT_BULK_THRESHOLD,
    bulkBytes: o.bulkBytes ?? DEFAULT_BULK_BYTES,
    pollIntervalMs: o.pollIntervalMs ?? 30_000,
    rescanIntervalMs: o.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS,
    ...(o.bwlimitBps ? { bwlimitBps: o.bwlimitBps } : {}),
    ...(o.trash ? { trash: { days: o.trashDays ?? DEFAULT_TRASH_DAYS } } : {}),
  };
}
