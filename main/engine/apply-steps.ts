/**
 * The vocabulary of applyPlan's step runner: one {@link Step} per kind of server op, the op
 * selectors, and the "not created" rule's error text (failure-groups.ts reads it back).
 */
import type { PlanOp, PlanOpKind } from '../core/plan.ts';
import type { ItemResult } from '../transport/transport.ts';
import type { FileOutcome } from './apply-plan.ts';

const NOT_CREATED = /^not created: the server refused to create ("(?:[^"\\]|\\.)*") first; /;

/** The error of an op left unsent because the server refused to create `above` (a directory above it) first. */
export function notCreatedError(above: string): string {
  return `not created: the server refused to create ${JSON.stringify(above)} first; it is tried again with it`;
}

/** The directory a {@link notCreatedError} names, or undefined for any other error. */
export function blockedByOf(error: string): string | undefined {
  const m = NOT_CREATED.exec(error);
  return m ? (JSON.parse(m[1] as string) as string) : undefined;
}

export type OpOf<K extends PlanOpKind> = Extract<PlanOp, { op: K }>;
export type Creation = OpOf<'mkdir' | 'upload' | 'symlink'>;

/** One kind of server op inside a phase: which ops, the transport call, and what a success records. */
export interface Step<O, R extends ItemResult = ItemResult> {
  /** The outcome's op. */
  op: FileOutcome['op'];
  /** The ops of the phase this step runs, in plan order. */
  select: (ops: PlanOp[]) => O[];
  /** Where the outcome is reported (and what the op creates); where a rename came from. */
  target: (o: O) => { path: string; from?: string };
  /**
   * Paths that must lie outside every server entry that could not be moved aside; an op
   * failing this is dropped without an outcome (the move aside already reported one).
   */
  guarded?: (o: O) => string[];
  /** Whether the op waits for the directories above it that this pass creates. */
  creates?: boolean;
  /**
   * The transport call: one result per op (`undefined` for an op left unsent). It may
   * settle results early, as the transport reports them.
   */
  send: (ops: O[], settle: (i: number, r: R) => void) => Promise<(R | undefined)[]>;
  /** Sees every result first; true when it needs no outcome (an upload whose local file vanished). */
  observe?: (o: O, r: R) => boolean;
  /** Records a success in the ancestor; false when the result is no success after all. */
  succeeded: (o: O, r: R) => boolean | void;
  /** Remembers what a failure means for later ops. */
  failed?: (o: O, r: R) => void;
  /** Bytes sent, for a success's outcome. */
  bytes?: (r: R) => number | undefined;
}

export function ofKind<K extends PlanOpKind>(ops: PlanOp[], kind: K): OpOf<K>[] {
  return ops.filter((o): o is OpOf<K> => o.op === kind);
}

/** A phase's creations, mkdirs first, then uploads, then symlinks. */
export function creationsOf(ops: PlanOp[]): Creation[] {
  return [...ofKind(ops, 'mkdir'), ...ofKind(ops, 'upload'), ...ofKind(ops, 'symlink')];
}
