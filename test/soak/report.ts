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
    ['server edits (driver on the server)', `${r.serverOperationsTotal} (share of turns ${r.serverShare})`],
    ['faults injected', r.faultsTotal],
    ['differences', r.differences],
    ['problems', r.problems.length],
  ]);
  lines.push('', 'Operations by kind:');
  table(Object.entries(r.operations).map(([k, v]) => [k, v ?? 0]));
  if (r.serverOperationsTotal || Object.keys(r.serverRefused).length) {
    lines.push('', 'Server edits by kind:');
    table(
      Object.entries(r.serverOperations).map(([k, v]) => [
        k,
        `${v ?? 0}${r.serverRefused[k as keyof typeof r.serverRefused] ? ` (+${r.serverRefused[k as keyof typeof r.serverRefused]} refused or raced)` : ''}`,
      ]),
    );
  }
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
        `final --once: exit ${f.finalOnce.code}, ${f.finalOnce.fileEvents} operation(s)` +
        `${f.finalOnce.restored ? ` (+${f.finalOnce.restored} restore(s) of server deletes it had not seen)` : ''}; differences: ${f.differences.length}`,
    );
    for (const [area, n] of Object.entries(f.serverEdits.areaFiles)) lines.push(`    ${n} file(s) in the ${area}`);
    if (f.serverOperations) {
      const s = f.serverEdits;
      const kept = Object.entries(s.kept).map(([k, v]) => `, ${v} in the ${k}`);
      lines.push(
        `    server: ${f.serverOperations} change(s); of the versions it wrote, ${s.superseded} replaced or deleted by it later, ` +
          `${s.atPath} still at their path, ${s.elsewhere} moved by a rename of Ferry's, ${s.conflictCopy} in logged conflict copies${kept.join('')}, ${s.lost} lost`,
      );
      for (const m of s.moved.slice(0, 10)) lines.push(`    server version moved by Ferry: ${m}`);
      if (s.emptiedDirs.length)
        lines.push(
          `    ${s.emptiedDirs.length} directory(ies) deleted locally, left on the server empty after the server's user removed what it wrote there`,
        );
    }
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
