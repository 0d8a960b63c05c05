/**
 * The soak: several folders synced at once by watch-mode `ferry sync --json` processes,
 * against the real test sshd through a TCP proxy, while a driver edits the folders (and, in
 * a share of its turns, their server copies: server-edits.ts) and a chaos loop breaks things
 * (see chaos.ts). At the end the chaos stops, the edits go on a little longer without
 * faults (only the watchers report them), and then every running Ferry must report idle and
 * in sync, with the server's copy equal to its folder (see verify.ts, which accounts for
 * every server edit), within a convergence window and without help: a folder that would
 * need a restart (or more time) to converge is a failure. A final `ferry sync --once` per
 * folder must then find nothing to do but restore server deletes it had no full pass to see:
 * Ferry's own index agrees with both sides.
 *
 * Layout: folders 0..n-2 sync to plain directories of the sshd; the last folder syncs onto
 * a small tmpfs that chaos fills up (or, where mounting is not allowed, to the fault SFTP
 * server, whose "disk full" is simulated).
 */
import { RecentEdits } from './recent-edits.ts';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { serverAccount, startSshd, type TestSshd } from '../harness/sshd.ts';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.ts';
import { runFerry, tempDir } from '../harness/trees.ts';
import { Chaos, FAULT_KINDS, type FaultKind } from './chaos.ts';
import { safeVerify, settle, sleep, until } from './converge.ts';
import { judgeMissingFaults, missingFaultProblem } from './fault-policy.ts';
import { FerryWatch } from './ferry-proc.ts';
import { Mounts } from './mounts.ts';
import { Mutator, OPERATIONS, type Operation } from './mutator.ts';
import { CANARY_DIR, pwnedPrefix } from './names.ts';
import { Rng } from './rng.ts';
import { SERVER_OPERATIONS, ServerEditor, type ServerOperation } from './server-edits.ts';
import { smallDisk } from './small-disk.ts';
import {
  DEFAULT_SERVER_SHARE,
  MiB,
  type Folder,
  type FolderReport,
  type SoakOptions,
  type SoakReport,
} from './soak-types.ts';
import { canaries } from './verify.ts';

export { DEFAULT_SERVER_SHARE } from './soak-types.ts';
export type { FolderReport, SoakOptions, SoakReport } from './soak-types.ts';

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => undefined);
  const seed = o.seed ?? randomBytes(4).readUInt32LE(0);
  const rng = new Rng(seed);
  const token = randomBytes(6).toString('hex');
  const nFolders = Math.max(2, o.folders ?? 3);
  const short = o.short ?? false;
  const serverShare = o.serverShare ?? DEFAULT_SERVER_SHARE;
  if (!(serverShare >= 0 && serverShare <= 1)) throw new Error(`serverShare must be within 0..1, got ${serverShare}`);
  const work = tempDir('soak');
  const state = join(work, 'state');
  mkdirSync(state);
  mkdirSync(join(work, 'logs'));
  const probe = Mounts.probe();
  const mounts = probe.tmpfs || probe.readOnlyBind ? new Mounts() : undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  const folders: Folder[] = [];
  let ok = false;
  log(`soak: seed ${seed}, ${o.minutes} min, ${nFolders} folders, work dir ${work}`);
  if (probe.why) log(`soak: ${probe.why}`);

  try {
    const sshd: TestSshd = await startSshd();
    cleanups.push(() => sshd.dispose());
    const proxy: TcpProxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: sshd.port });
    cleanups.push(() => proxy.close());
    const proxies = [proxy];
    const knownHosts = join(work, 'known_hosts');
    const [keyType, key] = readFileSync(sshd.hostPublicKeyPath, 'utf8').trim().split(/\s+/);
    writeFileSync(knownHosts, `[127.0.0.1]:${proxy.port} ${keyType} ${key}\n`);

    // The small disk for the last folder.
    const { disk, fault, faultProxy, smallRemote } = await smallDisk({
      work,
      sshd,
      short,
      ...(mounts && probe.tmpfs ? { mounts } : {}),
      cleanups,
      proxies,
    });

    for (let i = 0; i < nFolders; i++) {
      const small = i === nFolders - 1;
      const local = join(work, `local-${i}`);
      mkdirSync(local);
      const viaFault = small && fault !== undefined && faultProxy !== undefined;
      const remoteDir = small ? smallRemote : join(sshd.remoteRoot, `folder-${i}`);
      const target = viaFault
        ? `ssh://u@127.0.0.1:${faultProxy?.port}${remoteDir}`
        : `ssh://${sshd.user}@127.0.0.1:${proxy.port}${remoteDir}`;
      // --allow-mass-delete: the driver is a random user who now and then deletes most of a
      // folder (its budget makes it delete a lot when full); the rail that halts such a pass
      // until confirmed is correct and has its own tests (sync-once.test.ts), but a halted
      // folder waits for a person, which a soak has none of (the first 30-minute run halted so).
      const trash = (o.trash ?? true) && i === nFolders - 2;
      const safety = ['--allow-mass-delete', ...(trash ? ['--trash'] : [])];
      const args = viaFault
        ? [
            ...safety,
            '--password-env',
            'FERRY_SOAK_PW',
            '--known-hosts',
            join(work, 'fault_known_hosts'),
            '--state-dir',
            state,
            '--ssh-config',
            '/dev/null',
            local,
            target,
          ]
        : [
            ...safety,
            '-i',
            sshd.clientKeyPath,
            '--known-hosts',
            knownHosts,
            '--state-dir',
            state,
            '--ssh-config',
            '/dev/null',
            local,
            target,
          ];
      const env: NodeJS.ProcessEnv = viaFault ? { FERRY_SOAK_PW: fault?.password, HOME: work } : { HOME: work };
      const name = `folder-${i}${small ? ' (small disk)' : ''}${trash ? ' (--trash)' : ''}`;
      const recent = new RecentEdits();
      const mutator = new Mutator({
        recent,
        root: local,
        rng,
        token,
        maxEntries: short ? 150 : 300,
        maxBytes: (small ? (short ? 6 : 10) : short ? 12 : 24) * MiB,
        bigFileMax: (small ? 2 : 4) * MiB,
      });
      mutator.seed(short ? 15 : 30);
      // The server's own user: staging next to the folder, on the same file system (the
      // tmpfs for the small disk), so its renames and links stay atomic.
      const account = viaFault ? undefined : serverAccount();
      const server =
        serverShare > 0
          ? new ServerEditor({
              remoteDir,
              stagingDir: join(dirname(remoteDir), `.soak-server-staging-${i}`),
              rng: new Rng((seed ^ (0x5eed0000 + i)) >>> 0),
              token,
              ...(account && account.uid !== process.getuid?.()
                ? { owner: { uid: account.uid, gid: account.gid } }
                : {}),
              localRoot: local,
              recent,
              maxBytes: (small ? 2 : 4) * MiB,
              ledgerFile: join(work, 'logs', `server-${i}.jsonl`),
            })
          : undefined;
      const ferry = new FerryWatch(name, args, env, join(work, 'logs', `folder-${i}.log`));
      folders.push({
        name,
        local,
        target,
        args,
        env,
        ferry,
        mutator,
        remoteDir,
        proxy: viaFault && faultProxy ? faultProxy : proxy,
        viaSshd: !viaFault,
        convergence: 'timeout',
        ...(server ? { server } : {}),
      });
    }
    cleanups.push(async () => {
      for (const f of folders) await f.ferry.dispose();
    });

    for (const f of folders) f.ferry.start();
    for (const f of folders)
      await until(
        () => f.ferry.inSync,
        120_000,
        `${f.name} never reported its first idle/in-sync state:\n${f.ferry.tail.join('\n')}`,
      );
    log('soak: initial sync done; driver and chaos start');

    const chaos = new Chaos({
      rng,
      sshd,
      proxies,
      folders,
      ...(probe.readOnlyBind && mounts ? { mounts } : {}),
      ...(disk ? { disk } : {}),
      gapMs: short ? [1500, 4000] : [3000, 15_000],
      holdMs: short ? [1500, 5000] : [3000, 20_000],
      ...(o.faults ? { kinds: o.faults } : {}),
      log,
    });
    // What this machine cannot inject for real is never passed off as tested: reported as
    // skipped, and in CI a failure unless opted out (fault-policy.ts).
    const selected = (k: FaultKind) => !o.faults || o.faults.includes(k);
    const faultsMissing: Partial<Record<FaultKind, string>> = {};
    if (selected('readonly') && !(probe.readOnlyBind && mounts))
      faultsMissing.readonly = `a read-only bind mount needs root with CAP_SYS_ADMIN (${probe.why ?? 'mount failed'})`;
    if (selected('disk-full') && !(probe.tmpfs && mounts))
      faultsMissing['disk-full'] =
        `a real ENOSPC needs a tmpfs mounted on the server, which needs root with CAP_SYS_ADMIN (${probe.why ?? 'mount failed'}); only the fault SFTP server's simulated "disk full" ran`;
    for (const [k, why] of chaos.unavailable) if (selected(k)) faultsMissing[k] ??= why;
    const missingVerdict = judgeMissingFaults(faultsMissing, process.env);
    for (const { kind, why } of missingVerdict.skipped) log(`soak: fault ${kind} skipped: ${why}`);
    const started = Date.now();
    const deadline = started + o.minutes * 60_000;
    // The edits go on for a while after the last fault. Faults make Ferry rescan everything
    // when it reconnects, which covers up what its watcher missed; in this calm tail, as in
    // normal use, the watcher alone tells Ferry what changed (the CI soak: a directory that
    // replaced a file went unwatched, which only edits after the last fault could show).
    const calmMs = (short ? 20 : 60) * 1000;
    let driving = true;
    const drivers = folders.map(async (f) => {
      while (driving && Date.now() < deadline + calmMs) {
        if (f.server && rng.chance(serverShare)) f.server.step();
        else if (rng.chance(0.05)) for (let i = rng.int(5, 30); i > 0; i--) f.mutator.step();
        else f.mutator.step();
        await sleep(rng.int(20, short ? 300 : 500));
      }
    });
    const chaosDone = chaos.run();
    let chaosMinutes = o.minutes;
    const chaosTimer = setTimeout(() => {
      chaos.stop();
      chaosMinutes = (Date.now() - started) / 60_000;
      log(`soak: chaos stopped after ${chaosMinutes.toFixed(1)} min; ${calmMs / 1000} s more of edits without faults`);
    }, deadline - Date.now());
    const progress = setInterval(
      () => {
        const ops = folders.reduce((n, f) => n + f.mutator.total, 0);
        const serverOps = folders.reduce((n, f) => n + (f.server?.total ?? 0), 0);
        log(
          `soak: ${((Date.now() - started) / 60_000).toFixed(1)} min, ${ops} operations, ${serverOps} server edits, ${chaos.total} faults; ${folders.map((f) => `${f.name}: ${String(f.ferry.lastState?.state ?? 'no state')}`).join(', ')}`,
        );
      },
      short ? 20_000 : 60_000,
    );
    try {
      await Promise.all(drivers);
    } finally {
      driving = false;
      clearTimeout(chaosTimer);
      chaos.stop();
      await chaosDone;
      clearInterval(progress);
    }
    const calmSeconds = (Date.now() - started) / 1000 - chaosMinutes * 60;
    log(
      `soak: edits stopped after ${calmSeconds.toFixed(0)} s without faults; waiting for every folder to be idle and in sync`,
    );

    // Converge: every folder idle and in sync with the server equal to it, by itself. The
    // long run's window is above Ferry's longest retry delay (5 min for a failed item; a
    // failed item is retried at once when the server takes another write, a reconnect waits
    // at most 60 s); the short run's faults are too brief to build up more than seconds.
    const settleStart = Date.now();
    const windowMs = short ? 90_000 : 360_000;
    const logFile = (f: Folder) =>
      f.ferry.folderId ? join(state, 'folders', f.ferry.folderId, 'conflicts.jsonl') : undefined;
    // Server deletes Ferry may not have seen: those after the start of its last full pass
    // (less 3 s for the lag of its event). Earlier ones it must have restored.
    const unseenSince = (f: Folder) => (f.ferry.lastFullPassStart ?? 0) - 3000;
    const check = (f: Folder, strict = false) =>
      safeVerify(f.local, f.remoteDir, {
        ...(logFile(f) ? { conflictLog: logFile(f) } : {}),
        ledger: { changes: f.server?.changes ?? [], ...(strict ? {} : { unseenDeletesSince: unseenSince(f) }) },
      });
    const converged = (f: Folder) => f.ferry.inSync && check(f).differences.length === 0;
    const problems: string[] = [];
    await Promise.all(
      folders.map(async (f) => {
        f.convergence = await settle(f, () => converged(f), windowMs);
        if (f.convergence === 'converged') return;
        const what =
          f.convergence === 'claims-in-sync'
            ? 'reported idle and in sync while the server differed'
            : `did not converge within ${windowMs / 1000} s (last state: ${String(f.ferry.lastState?.state ?? 'none')})`;
        const diff = check(f).differences;
        problems.push(
          `${f.name} ${what}; ${diff.length} difference(s) then: ${diff.slice(0, 5).join('; ')}. Last lines:\n    ${f.ferry.tail.slice(-12).join('\n    ')}`,
        );
        log(`soak: ${f.name} ${what}`);
      }),
    );
    const convergeSeconds = (Date.now() - settleStart) / 1000;

    const reports: FolderReport[] = [];
    for (const f of folders) {
      const exit = await f.ferry.terminate();
      if (exit && (exit.code !== 0 || exit.signal !== null))
        problems.push(`${f.name}: SIGTERM ended Ferry with ${JSON.stringify(exit)} instead of exit code 0`);
      // What the final --once may do: restore the files the driver deleted on the server after
      // Ferry's last full pass (only a full pass looks for them), and nothing else.
      const unseen = new Set(check(f).unseenDeletes);
      const once = await runFerry(['sync', '--once', '--json', ...f.args], { env: f.env, timeoutMs: 180_000 });
      const onceFiles = once.events.filter((e) => e.event === 'file');
      const restores = onceFiles.filter((e) => e.op === 'upload' && e.ok === true && unseen.has(String(e.path)));
      const unexplained = onceFiles.filter((e) => !restores.includes(e));
      if (once.code !== 0 || unexplained.length) {
        problems.push(
          `${f.name}: the final --once run exited ${once.code} with ${unexplained.length} file operation(s) besides ${restores.length} restore(s) of server deletes: ${JSON.stringify(unexplained.slice(0, 5))} ${JSON.stringify(once.events.filter((e) => e.event === 'error').slice(0, 3))} ${once.stderr.slice(0, 500)}`,
        );
      }
      // After a full pass, every server delete must have been seen: no allowance left.
      const verdict = check(f, true);
      for (const x of f.ferry.unexpectedExits)
        problems.push(
          `${f.name}: Ferry exited unexpectedly (${x.code ?? x.signal}) at ${x.at}: ${x.stderrTail.slice(-800)}`,
        );
      reports.push({
        name: f.name,
        target: f.target,
        operations: f.mutator.total,
        uploads: f.ferry.fileOk.get('upload') ?? 0,
        failedItems: [...f.ferry.fileFailed.values()].reduce((a, b) => a + b, 0),
        errorStates: f.ferry.errorStates,
        ferryStarts: f.ferry.starts,
        conflictRecords: verdict.conflictRecords,
        loggedConflictCopies: verdict.loggedConflictCopies,
        serverOperations: f.server?.total ?? 0,
        serverEdits: verdict.serverEdits,
        convergence: f.convergence,
        finalOnce: { code: once.code, fileEvents: unexplained.length, restored: restores.length },
        differences: verdict.differences,
        unexpectedExits: f.ferry.unexpectedExits,
        tail: verdict.differences.length ? f.ferry.tail : [],
      });
    }
    const pwned = canaries(CANARY_DIR, pwnedPrefix(token));
    if (pwned.length) problems.push(`shell-injection canaries exist in ${CANARY_DIR}: ${pwned.join(', ')}`);
    for (const { kind, why } of missingVerdict.failing) problems.push(missingFaultProblem(kind, why));
    if (missingVerdict.unknown.length)
      problems.push(
        `FERRY_SOAK_ALLOW_MISSING names no fault kind in ${JSON.stringify(missingVerdict.unknown)}; kinds: ${FAULT_KINDS.join(', ')}`,
      );

    const operations: Partial<Record<Operation, number>> = {};
    for (const op of OPERATIONS) {
      const n = folders.reduce((s, f) => s + (f.mutator.counts.get(op) ?? 0), 0);
      if (n) operations[op] = n;
    }
    const serverOperations: Partial<Record<ServerOperation, number>> = {};
    const serverRefused: Partial<Record<ServerOperation, number>> = {};
    for (const op of SERVER_OPERATIONS) {
      const n = folders.reduce((s, f) => s + (f.server?.counts.get(op) ?? 0), 0);
      if (n) serverOperations[op] = n;
      const m = folders.reduce((s, f) => s + (f.server?.refused.get(op) ?? 0), 0);
      if (m) serverRefused[op] = m;
    }
    const faults: Partial<Record<FaultKind, number>> = {};
    for (const k of FAULT_KINDS) faults[k] = chaos.counts.get(k) ?? 0;
    const differences = reports.reduce((n, r) => n + r.differences.length, 0);
    ok = differences === 0 && problems.length === 0;
    if (!ok && o.keepOnFailure) {
      // The server's trees go with the sshd's directory: keep copies next to the local ones.
      for (const [i, f] of folders.entries()) {
        try {
          execFileSync('cp', ['-a', f.remoteDir, join(work, `remote-${i}`)]);
        } catch (err) {
          log(`soak: could not copy ${f.remoteDir}: ${(err as Error).message}`);
        }
      }
    }
    return {
      ok,
      seed,
      minutesRequested: o.minutes,
      chaosMinutes,
      calmSeconds,
      convergeSeconds,
      operations,
      operationsTotal: folders.reduce((n, f) => n + f.mutator.total, 0),
      serverShare,
      serverOperations,
      serverOperationsTotal: folders.reduce((n, f) => n + (f.server?.total ?? 0), 0),
      serverRefused,
      driverFailures: folders.flatMap((f) => [
        ...f.mutator.failures.map((m) => `${f.name}: ${m}`),
        ...(f.server?.failures ?? []).map((m) => `${f.name} (server): ${m}`),
      ]),
      faults,
      faultsTotal: chaos.total,
      faultsUnavailable: Object.fromEntries(chaos.unavailable),
      faultsMissing,
      faultsSkipped: Object.fromEntries(missingVerdict.skipped.map(({ kind, why }) => [kind, why])),
      diskFullVia: disk?.how ?? 'none',
      readOnlyVia: probe.readOnlyBind
        ? 'a read-only bind mount over the remote directory (EROFS, refused to root too)'
        : `none (${probe.why ?? 'not available'})`,
      canaries: pwned,
      folders: reports,
      differences,
      problems,
      ...(!ok && o.keepOnFailure ? { workDir: work } : {}),
    };
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log(`soak: cleanup step failed: ${(err as Error).message}`);
      }
    }
    mounts?.releaseAll();
    if (ok || !o.keepOnFailure) rmSync(work, { recursive: true, force: true });
  }
}
