import type { Readable } from 'node:stream';

/**
 * Calls `onLine` with each complete, non-blank line `stream` emits, in order (a line split
 * across chunks is joined first; a last line without a newline is never reported). For
 * Ferry's `--json` output: one event per line.
 */
export function onLines(stream: Readable | null | undefined, onLine: (line: string) => void): void {
  let buf = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) onLine(line);
    }
  });
}
