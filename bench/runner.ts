/**
 * Shared pieces of the workloads: timing one command with client and server CPU, interleaving
 * tools across repetitions, running Ferry under the V8 profiler, and scratch directories.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, Series } from './context.ts';
import type { Command } from './peers.ts';
import { newestProfile } from './profile.ts';
import { timeCommand } from './proc.ts';

export interface Measured {
  ms: number;
  clientCpuMs: number;
  serverCpuMs: number;
}

/** Runs `c` once; client CPU counts the command and its children, server CPU the sshd side. */
export function measure(ctx: BenchContext, c: Command): Measured {
  const s0 = ctx.serverCpuMs();
  const r = timeCommand(c.cmd, c.argv);
  return { ms: r.ms, clientCpuMs: r.cpuMs, serverCpuMs: ctx.serverCpuMs() - s0 };
}

export function pushMeasured(s: Series, m: Measured): void {
  s.samples.push(m.ms);
  (s.clientCpuMs ??= []).push(m.clientCpuMs);
  (s.serverCpuMs ??= []).push(m.serverCpuMs);
}

/** `items` rotated left by `n`: repetition n starts with a different tool, so no tool always runs first. */
export function rotate<T>(items: readonly T[], n: number): T[] {
  if (items.length === 0) return [];
  const k = n % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** A fresh directory under the suite's scratch directory. */
export function scratchDir(ctx: BenchContext, prefix: string): string {
  mkdirSync(ctx.work, { recursive: true });
  return mkdtempSync(join(ctx.work, `${prefix}-`));
}

export function remove(...paths: string[]): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}

/**
 * Runs a `ferry` command (argv starting with the script path, as built by peers.ts) once under
 * `node --cpu-prof`; returns the profile file.
 */
export function profileFerry(ctx: BenchContext, c: Command): string | undefined {
  const dir = scratchDir(ctx, 'cpuprof');
  timeCommand(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, ...c.argv]);
  return newestProfile(dir);
}
