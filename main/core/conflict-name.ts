/**
 * The one naming rule for conflict copies, used by both transports and the engine:
 * `stem.ferry-conflict-YYYYMMDD-HHMMSS[-N].ext`, the stamp in UTC.
 */
import { baseName, joinRel, parentOf } from './tree.ts';

/** Longest file name (in UTF-8 bytes) that common file systems accept. */
export const MAX_NAME_BYTES = 255;

const MAX_COUNTER = 10_000;

export function utcStamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`
  );
}

/** Longest prefix of `s` that fits in `maxBytes` of UTF-8, cut between code points. */
function truncateUtf8(s: string, maxBytes: number): string {
  let bytes = 0;
  let out = '';
  for (const cp of s) {
    const n = Buffer.byteLength(cp, 'utf8');
    if (bytes + n > maxBytes) break;
    bytes += n;
    out += cp;
  }
  return out;
}

/**
 * The relative path for a conflict copy of `relPath`, in the same directory:
 * `stem.ferry-conflict-YYYYMMDD-HHMMSS[-N].ext` (UTC). The extension is what follows the
 * last dot, unless the name starts with its only dot (`.env` has none) or the dot is last.
 * When `taken(candidate)` is true, -2, -3, ... are tried. The base name is at most
 * {@link MAX_NAME_BYTES} UTF-8 bytes: the stem is shortened (between code points) to fit;
 * an extension too long to leave room is treated as part of the stem.
 * Deterministic for the same inputs.
 */
export function conflictCopyName(relPath: string, date: Date, taken: (path: string) => boolean): string {
  const name = baseName(relPath);
  if (relPath === '' || name === '') throw new Error('A conflict copy needs a file name; the folder root has none.');
  if (Number.isNaN(date.getTime())) throw new Error(`Invalid date for the conflict copy of ${relPath}.`);
  const dir = parentOf(relPath);
  const dot = name.lastIndexOf('.');
  let stem = dot > 0 && dot < name.length - 1 ? name.slice(0, dot) : name;
  let ext = stem === name ? '' : name.slice(dot);
  const stamp = `.ferry-conflict-${utcStamp(date)}`;
  // Room for the stamp, a counter and at least a few bytes of stem, or the extension goes.
  if (Buffer.byteLength(stamp + ext, 'utf8') + `-${MAX_COUNTER}`.length + 8 > MAX_NAME_BYTES) {
    stem = name;
    ext = '';
  }
  for (let n = 1; n <= MAX_COUNTER; n++) {
    const suffix = `${stamp}${n === 1 ? '' : `-${n}`}${ext}`;
    const room = MAX_NAME_BYTES - Buffer.byteLength(suffix, 'utf8');
    const candidate = joinRel(dir, `${truncateUtf8(stem, room)}${suffix}`);
    if (!taken(candidate)) return candidate;
  }
  throw new Error(`Could not find a free conflict copy name for ${relPath}: ${MAX_COUNTER} candidates were all taken.`);
}

const COPY_NAME = /^(.*)\.ferry-conflict-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-\d+)?(\.[^.]*)?$/s;

/**
 * The inverse of {@link conflictCopyName} for one base name: the original's name and the
 * stamp's time, or undefined when `name` is not a conflict copy's name. The original is
 * exact unless the copy's stem was shortened to fit {@link MAX_NAME_BYTES}.
 */
export function parseConflictCopyName(name: string): { original: string; stamp: Date } | undefined {
  const m = COPY_NAME.exec(name);
  if (!m) return undefined;
  const [, stem, y, mo, d, h, mi, s, ext] = m;
  const stamp = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  if (Number.isNaN(stamp.getTime()) || stem === '') return undefined;
  return { original: `${stem}${ext ?? ''}`, stamp };
}
