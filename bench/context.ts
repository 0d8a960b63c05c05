/**
 * What every workload gets: the loopback server, the run's size, where to put trees, which
 * peers can run, and a progress log. Workloads return {@link WorkloadResult}s for the report.
 */
import type { TestSshd } from '../test/harness/sshd.ts';
import type { BarChart } from './chart-types.ts';
import type { ProfileSummary } from './profile.ts';

export interface BenchContext {
  sshd: TestSshd;
  quick: boolean;
  /** Interleaved repetitions of every timed figure (at least 3). */
  reps: number;
  /** Scratch directory (tmpfs when the machine has one) for local trees and state dirs. */
  work: string;
  /** Absolute path of each usable peer binary by name ('lsyncd', 'scp', ...). */
  tools: Map<string, string>;
  /** Why a peer could not run, by name, for the report. */
  skipped: Map<string, string>;
  /** Run Ferry under `node --cpu-prof` once for each target it misses. */
  profile: boolean;
  log(message: string): void;
  /** CPU used so far by the sshd and every session it has reaped (server side), in ms. */
  serverCpuMs(): number;
}

/** One row of a timing table: a tool and its samples (ms unless the table says otherwise). */
export interface Series {
  tool: string;
  samples: number[];
  /** CPU of the client side and of the server side per run, in ms, when measured. */
  clientCpuMs?: number[];
  serverCpuMs?: number[];
  note?: string;
}

export interface Target {
  workload: number;
  /** The target as the issue states it. */
  goal: string;
  /** Ferry's figure and the peer figure it was compared with. */
  figure: string;
  met: boolean | undefined;
  /** When missed: by how much. */
  miss?: string;
}

export interface WorkloadResult {
  id: number;
  title: string;
  /** Markdown paragraphs describing what was measured. */
  method: string;
  /** Markdown table(s) and paragraphs with the figures. */
  body: string;
  targets: Target[];
  /** Median times (ms) per tool for the "relative to rsync" chart. */
  chart?: { label: string; values: { tool: string; value: number }[] };
  /** A chart of its own (e.g. latency percentiles). */
  ownChart?: BarChart;
  /** Where Ferry's time went in one more run under `node --cpu-prof`, when a target was missed. */
  profile?: { what: string; summary: ProfileSummary };
}

export const FERRY = 'Ferry';
