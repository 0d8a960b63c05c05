/**
 * What the soak does about a fault kind it cannot inject on this machine (the `readonly` and
 * `disk-full` kinds need real mounts: root with CAP_SYS_ADMIN). A kind left out is never
 * reported as passed: in CI (`CI` set to anything but "false" or "0") it fails the run unless
 * `FERRY_SOAK_ALLOW_MISSING` names it (comma-separated kinds, or `all`); elsewhere it is
 * reported as skipped, with the reason.
 */
import { FAULT_KINDS, type FaultKind } from './chaos.ts';

export const ALLOW_MISSING_ENV = 'FERRY_SOAK_ALLOW_MISSING';

export interface MissingFaultVerdict {
  /** Kinds that could not be injected and make the run fail, each with its reason. */
  failing: { kind: FaultKind; why: string }[];
  /** Kinds that could not be injected and are reported as skipped, each with its reason. */
  skipped: { kind: FaultKind; why: string }[];
  /** Words in FERRY_SOAK_ALLOW_MISSING that name no fault kind (a typo opts nothing out). */
  unknown: string[];
}

export function isCi(env: NodeJS.ProcessEnv): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/** The kinds `FERRY_SOAK_ALLOW_MISSING` opts out, and the words in it that are no kind. */
export function allowedMissing(env: NodeJS.ProcessEnv): { kinds: Set<FaultKind>; unknown: string[] } {
  const words = (env[ALLOW_MISSING_ENV] ?? '')
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  const kinds = new Set<FaultKind>();
  const unknown: string[] = [];
  for (const w of words) {
    if (w === 'all') for (const k of FAULT_KINDS) kinds.add(k);
    else if ((FAULT_KINDS as readonly string[]).includes(w)) kinds.add(w as FaultKind);
    else unknown.push(w);
  }
  return { kinds, unknown };
}

/** Sorts the kinds this machine could not inject (`missing`: kind to reason) into failing and skipped. */
export function judgeMissingFaults(
  missing: Partial<Record<FaultKind, string>>,
  env: NodeJS.ProcessEnv,
): MissingFaultVerdict {
  const { kinds: allowed, unknown } = allowedMissing(env);
  const ci = isCi(env);
  const verdict: MissingFaultVerdict = { failing: [], skipped: [], unknown };
  for (const kind of FAULT_KINDS) {
    const why = missing[kind];
    if (why === undefined) continue;
    if (ci && !allowed.has(kind)) verdict.failing.push({ kind, why });
    else
      verdict.skipped.push({
        kind,
        why: `${why} (${ci ? `opted out by ${ALLOW_MISSING_ENV}` : 'outside CI'})`,
      });
  }
  return verdict;
}

/** The problem line for a kind that fails the run. */
export function missingFaultProblem(kind: FaultKind, why: string): string {
  return `the ${kind} fault could not be injected: ${why}. CI needs every fault kind; give the soak what it needs (see docs/RELIABILITY.md) or set ${ALLOW_MISSING_ENV}=${kind} to run without it`;
}
