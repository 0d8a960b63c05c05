/**
 * Failed items as lines a person can read: one cause, one line. Items left unsent below a
 * directory the server refused to create are counted under that directory's own failure;
 * the rest are listed one per line, at most `limit` lines, then a count of what is left.
 * (The full list stays in the status, the app and `--json`.)
 */
import { blockedByOf } from './apply-steps.ts';

export interface FailureLike {
  path: string;
  error: string;
  /** The operation that failed, where known (`upload`, `mkdir`, ...). */
  op?: string;
}

const name = (path: string) => path || '(the remote folder)';

/** `describe` words one item's own failure; the default is `path: error`. */
export function groupFailures(
  items: readonly FailureLike[],
  limit = 50,
  describe: (f: FailureLike) => string = (f) => `${name(f.path)}: ${f.error}`,
): string[] {
  const below = new Map<string, number>();
  const own: FailureLike[] = [];
  for (const f of items) {
    const above = blockedByOf(f.error);
    if (above === undefined) own.push(f);
    else below.set(above, (below.get(above) ?? 0) + 1);
  }
  const lines: string[] = [];
  const listed = new Set<string>();
  for (const f of own) {
    const n = below.get(f.path);
    listed.add(f.path);
    lines.push(`${describe(f)}${n ? ` (and ${n} item(s) below it, not sent)` : ''}`);
  }
  // Blocked items whose blocking directory's own failure is not in the list (it failed earlier).
  for (const [above, n] of below)
    if (!listed.has(above))
      lines.push(`${name(above)}: ${n} item(s) below it not sent: the server refused to create it`);
  if (lines.length <= limit) return lines;
  return [
    ...lines.slice(0, limit),
    `... and ${lines.length - limit} more failed item(s) (ferry status --json, or --json, lists all)`,
  ];
}
