/**
 * Which conflict-log records the user marked resolved. Kept next to the engine's conflict
 * log (`<stateDir>/conflicts-resolved.json`) and never inside it: the log stays append-only.
 * A record is identified by its time and path (the log never holds two records with both
 * equal: each conflict is resolved once per pass, at its own time).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function conflictMarksFile(stateDir: string): string {
  return join(stateDir, 'conflicts-resolved.json');
}

export function conflictKey(time: string, path: string): string {
  return `${time}\u0000${path}`;
}

/** Keys of resolved records; a missing or unreadable file means none. */
export async function readConflictMarks(file: string): Promise<Set<string>> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return new Set(Array.isArray(data) ? data.filter((k): k is string => typeof k === 'string') : []);
  } catch {
    return new Set();
  }
}

export async function addConflictMark(file: string, time: string, path: string): Promise<void> {
  const marks = await readConflictMarks(file);
  marks.add(conflictKey(time, path));
  const tmp = `${file}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(tmp, JSON.stringify([...marks]), { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    throw new Error(`Could not save the resolved mark in ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** How many of `records` no mark resolves: the one count the card, header and tray show. */
export function countUnresolved(
  records: readonly { time: string; path: string }[],
  marks: ReadonlySet<string>,
): number {
  return records.filter((r) => !marks.has(conflictKey(r.time, r.path))).length;
}
