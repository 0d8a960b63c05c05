/** The soak report as text: totals, operations and faults by kind, and per folder what was found. */
import type { FaultKind } from './chaos.ts';
import type { SoakReport } from './soak.ts';

export function formatReport(r: SoakReport): string {
  const lines: string[] = [];
  const table = (rows: [string, string | number][]) => {
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) lines.push(`  ${k.padEnd(w)}  ${v}`);
  };
  lines.push('', `Soak ${r.ok ? 'PASSED' : 'FAILED'} (seed ${r.seed})`, '');
  table([
    ['minutes of edits under chaos', r.chaosMinutes.toFixed(1)],
    ['seconds of edits after it, no faults', r.calmSeconds.toFixed(0)],
    ['seconds to converge after', r.convergeSeconds.toFixed(1)],
    ['operations', r.operationsTotal],
    ['faults injected', r.faultsTotal],
    ['differences', r.differences],
    ['problems', r.problems.length],
  ]);
  lines.push('', 'Operations by kind:');
  table(Object.entries(r.operations).map(([k, v]) => [k, v ?? 0]));
  lines.push('', 'Faults by kind:');
  table(
    Object.entries(r.faults).map(([k, v]) => [
      k,
      `${v ?? 0}${r.faultsUnavailable[k as keyof typeof r.faultsUnavailable] ? ` (unavailable: ${r.faultsUnavailable[k as keyof typeof r.faultsUnavailable]})` : ''}`,
    ]),
  );
  lines.push(`  disk full via: ${r.diskFullVia}`, `  read-only via: ${r.readOnlyVia}`);
  for (const [k, why] of Object.entries(r.faultsMissing))
    lines.push(
      `  NOT INJECTED ${k}: ${why}${r.faultsSkipped[k as FaultKind] ? ' (reported as skipped)' : ' (fails the run in CI)'}`,
    );
  lines.push('', 'Folders:');
  for (const f of r.folders) {
    lines.push(
      `  ${f.name}: ${f.operations} operations, ${f.uploads} uploads, ${f.failedItems} failed items (retried), ${f.errorStates} error states, ` +
        `${f.ferryStarts} Ferry starts, convergence: ${f.convergence}, ${f.conflictRecords} conflict record(s), ` +
        `final --once: exit ${f.finalOnce.code}, ${f.finalOnce.fileEvents} operation(s); differences: ${f.differences.length}`,
    );
    for (const c of f.loggedConflictCopies) lines.push(`    logged conflict copy: ${JSON.stringify(c)}`);
    for (const d of f.differences.slice(0, 30)) lines.push(`    ${d}`);
    if (f.differences.length > 30) lines.push(`    ... and ${f.differences.length - 30} more`);
    if (f.tail.length) lines.push('    last Ferry output:', ...f.tail.map((t) => `      ${t}`));
  }
  if (r.driverFailures.length)
    lines.push(
      '',
      `Driver operations that failed (${r.driverFailures.length}):`,
      ...r.driverFailures.slice(0, 20).map((d) => `  ${d}`),
    );
  if (r.problems.length) lines.push('', 'Problems:', ...r.problems.map((p) => `  ${p}`));
  if (r.workDir) lines.push('', `Work directory kept: ${r.workDir}`);
  return `${lines.join('\n')}\n`;
}
