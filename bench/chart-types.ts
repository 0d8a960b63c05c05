/** A grouped bar chart: one group per label, one bar per tool. */
export interface BarChart {
  title: string;
  /** Axis caption, e.g. "time relative to rsync (lower is better)". */
  unit: string;
  /** Logarithmic value axis (for figures spanning 10 ms to 15 s). */
  log?: boolean;
  /** File name without extension, e.g. "bench-relative". */
  file: string;
  groups: { label: string; bars: { tool: string; value: number }[] }[];
}
