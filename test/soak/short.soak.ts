/**
 * The CI version of the soak (`npm run soak` runs the long one): two minutes of random edits
 * in three folders synced at once, through a TCP proxy to the real sshd, while every kind of
 * fault is injected at least once (connections cut, mid-transfer too; sshd stopped; Ferry
 * killed with SIGKILL; the remote directory read-only; the server's disk full; a network
 * black hole). A fault kind this machine cannot inject (`readonly` and `disk-full` need
 * real mounts) is reported as skipped, and fails the run in CI unless
 * FERRY_SOAK_ALLOW_MISSING names it. A tenth of the driver's turns edit, create or delete
 * files on the server's copy instead (server-edits.ts). The edits go on for 20 s after the
 * last fault, seen by the watchers alone. Then every folder must converge to an exact copy,
 * apart from the server's own changes, each of which must still be on the server or in a
 * logged conflict copy (verify.ts). See test/soak/ and
 * docs/RELIABILITY.md.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS } from './chaos.ts';
import { missingFaultProblem } from './fault-policy.ts';
import { formatReport } from './report.ts';
import { DEFAULT_SERVER_SHARE, runSoak, type SoakReport } from './soak.ts';

let report: SoakReport;
const log: string[] = [];

/**
 * The server's own user edits a tenth of the time, as in `npm run soak`.
 * FERRY_SOAK_SERVER_SHARE sets another share (0 turns it off, and its test is then skipped).
 */
const serverShare = Number(process.env.FERRY_SOAK_SERVER_SHARE ?? DEFAULT_SERVER_SHARE);

before(
  async () => {
    // Outside CI a failed run keeps its work directory (the Ferry logs, both trees) to look into.
    report = await runSoak({
      minutes: 2,
      folders: 3,
      short: true,
      serverShare,
      keepOnFailure: !process.env.CI,
      log: (line) => log.push(line),
    });
  },
  { timeout: 8 * 60_000 },
);

/** The whole report and the run's log, for the message of a failed assertion. */
const details = () => `${formatReport(report)}\nRun log:\n${log.join('\n')}`;

describe('soak (short)', () => {
  test('the driver edited all three folders', () => {
    assert.ok(report.operationsTotal > 300, details());
    assert.deepEqual(report.driverFailures, [], details());
  });

  test('the driver edited, created and deleted files on the server too, in every folder', (t) => {
    if (serverShare === 0) return t.skip('server edits are off (FERRY_SOAK_SERVER_SHARE unset or 0)');
    for (const f of report.folders) assert.ok(f.serverOperations > 10, `${f.name}\n${details()}`);
    for (const op of ['server-edit', 'server-create', 'server-delete'] as const)
      assert.ok((report.serverOperations[op] ?? 0) >= 1, `no ${op}\n${details()}`);
  });

  test('no server edit was lost: each is still on the server or in a logged conflict copy', () => {
    for (const f of report.folders) assert.equal(f.serverEdits.lost, 0, `${f.name}\n${details()}`);
  });

  // One test per fault kind: a kind this machine cannot inject is skipped (with the reason),
  // never passed; in CI it fails unless FERRY_SOAK_ALLOW_MISSING names it (fault-policy.ts).
  for (const kind of FAULT_KINDS) {
    test(`the ${kind} fault was injected`, (t) => {
      const missing = report.faultsMissing[kind];
      if (missing === undefined) {
        assert.ok((report.faults[kind] ?? 0) >= 1, `no ${kind} fault was injected\n${details()}`);
      } else if (report.faultsSkipped[kind] !== undefined) {
        t.skip(`not injected: ${report.faultsSkipped[kind]}`);
      } else {
        assert.fail(missingFaultProblem(kind, missing));
      }
    });
  }

  test('no Ferry process crashed, each stopped cleanly on SIGTERM, and no shell ever ran a file name', () => {
    for (const f of report.folders) assert.deepEqual(f.unexpectedExits, [], details());
    assert.deepEqual(report.canaries, [], details());
    assert.deepEqual(
      report.problems.filter((p) => /SIGTERM|unexpectedly|canaries/.test(p)),
      [],
      details(),
    );
  });

  test('every folder converged by itself: the server holds exactly the local tree, no temp file, every conflict copy logged', () => {
    for (const f of report.folders)
      assert.equal(f.convergence, 'converged', `${f.name} did not converge without help\n${details()}`);
    for (const f of report.folders)
      assert.deepEqual(f.differences, [], `${f.name} differs from its server copy\n${details()}`);
    assert.equal(report.differences, 0, details());
  });

  test('a final ferry sync --once per folder finds nothing left to do but restore server deletes it had not seen', () => {
    for (const f of report.folders) {
      assert.equal(f.finalOnce.code, 0, `${f.name}\n${details()}`);
      assert.equal(f.finalOnce.fileEvents, 0, `${f.name}\n${details()}`);
    }
  });

  test('the run found no problem at all', (t) => {
    t.diagnostic(
      `seed ${report.seed}: ${report.operationsTotal} operations, ${report.serverOperationsTotal} server edits, faults ${JSON.stringify(report.faults)}, ` +
        `${report.differences} differences, converged ${report.convergeSeconds.toFixed(1)} s after the last edit`,
    );
    assert.deepEqual(report.problems, [], details());
    assert.equal(report.ok, true, details());
  });
});
