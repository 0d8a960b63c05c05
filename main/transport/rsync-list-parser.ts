/**
 * Reading what rsync prints: the per-item records Ferry asks for with `--out-format`, and
 * its error lines.
 *
 * rsync escapes names in everything it prints (log.c `filtered_fwrite`): every byte below
 * 0x20 except tab, every non-printable byte (with LC_ALL=C: every byte >= 0x7f), and a
 * backslash that would otherwise look like an escape, becomes `\#ooo` (octal). Nothing
 * else is escaped, so `\#ooo` decoding restores the exact bytes, and a newline in a name
 * can never end a line. What stays ambiguous is where a name ends: `%n%L` prints
 * "name -> target" for symlinks, and names may contain " -> ". `%l` of a symlink is the
 * byte length of its target, which splits the two exactly.
 *
 * `--list-only` is not used: it prints local-time dates, comma-grouped sizes and the same
 * ambiguous "name -> target", with no way to choose fields.
 */
import type { Entry, Mode } from '../core/tree.ts';

/** The `--out-format` every Ferry rsync run uses; {@link parseRecord} reads it. Needs TZ=UTC. */
export const OUT_FORMAT = 'FERRY|%i|%l|%M|%B|%n%L';

export interface RsyncRecord {
  /** rsync's itemize string (`%i`), e.g. `>f+++++++++`, `cd+++++++++`, `*deleting  `. */
  itemize: string;
  /** Relative path as rsync reported it, directory slash and "./" removed ("" = root). */
  path: string;
  /** The entry described, for files, directories and symlinks (absent for deletions and other kinds). */
  entry?: Entry;
  /** Bytes (%l): file size, or symlink target length. */
  length: number;
}

const RECORD = /^FERRY\|(.{11})\|(\d+)\|(\d{4})\/(\d\d)\/(\d\d)-(\d\d):(\d\d):(\d\d)\|([-rwxsStT]{9})\|(.*)$/s;
const ARROW = Buffer.from(' -> ');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses one stdout line (bytes as latin1 text, line break removed). Returns undefined for
 * lines that are not records (rsync's own notes such as "created directory"), and for
 * names that are not valid UTF-8 (Ferry's paths are strings; such names cannot be acted on).
 */
export function parseRecord(line: string): RsyncRecord | undefined {
  const m = RECORD.exec(line);
  if (!m) return undefined;
  const [, itemize, len, year, month, day, hour, minute, second, perms, rest] = m as unknown as string[] & {
    length: 11;
  };
  const length = Number(len);
  let nameBytes = unescapeRsync(rest as string);
  // "*deleting" has no file type; otherwise the second itemize character is the type.
  const type = (itemize as string).startsWith('*') ? undefined : (itemize as string)[1];
  let target: string | undefined;
  if (type === 'L') {
    const split = nameBytes.length - length - ARROW.length;
    if (split < 1 || !nameBytes.subarray(split, split + ARROW.length).equals(ARROW)) return undefined;
    const t = decodeUtf8(nameBytes.subarray(split + ARROW.length));
    if (t === undefined) return undefined;
    target = t;
    nameBytes = nameBytes.subarray(0, split);
  }
  const name = decodeUtf8(nameBytes);
  if (name === undefined) return undefined;
  const path = name === './' ? '' : name.endsWith('/') ? name.slice(0, -1) : name;
  const record: RsyncRecord = { itemize: itemize as string, path, length };
  const mode = parsePerms(perms as string);
  if (type === 'f') {
    const mtimeMs = Date.UTC(
      Number(year),
      Number(month) - 1,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
    );
    record.entry = { kind: 'file', size: length, mtimeMs, mode };
  } else if (type === 'd') {
    record.entry = { kind: 'dir', mode };
  } else if (type === 'L' && target !== undefined) {
    record.entry = { kind: 'symlink', target };
  }
  return record;
}

/** Permission bits from rsync's `%B` ("rwsr-xr-T"), setuid/setgid/sticky included. */
export function parsePerms(perms: string): Mode {
  let mode = 0;
  const bit = (i: number, value: number) => {
    if (perms[i] !== '-') mode |= value;
  };
  bit(0, 0o400);
  bit(1, 0o200);
  bit(3, 0o040);
  bit(4, 0o020);
  bit(6, 0o004);
  bit(7, 0o002);
  const special = (c: string | undefined, exec: number, extra: number) => {
    if (c === 'x' || c === 's' || c === 't') mode |= exec;
    if (c === 's' || c === 'S' || c === 't' || c === 'T') mode |= extra;
  };
  special(perms[2], 0o100, 0o4000);
  special(perms[5], 0o010, 0o2000);
  special(perms[8], 0o001, 0o1000);
  return mode;
}

/** Undoes rsync's `\#ooo` escaping; `text` holds one byte per char (latin1). */
export function unescapeRsync(text: string): Buffer {
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '#' && /^[0-7]{3}$/.test(text.slice(i + 2, i + 5))) {
      out[n++] = parseInt(text.slice(i + 2, i + 5), 8) & 0xff;
      i += 4;
    } else {
      out[n++] = text.charCodeAt(i) & 0xff;
    }
  }
  return out.subarray(0, n);
}

/** An rsync message line made readable: escapes decoded, invalid UTF-8 replaced. */
export function readableLine(line: string): string {
  return unescapeRsync(line).toString('utf8');
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The item an rsync message is about, by index into `paths` (relative paths), or -1.
 *
 * rsync names files in messages as `"<dir>/<name>"` (full path on whichever side wrote the
 * message, possibly through a resolved symlink), sometimes as a bare relative path at the
 * end of the line, deletions as `unlink(<path>)`, and for receive errors by the temp name `.<name>.XXXXXX` (the name cut
 * to fit NAME_MAX). The longest matching path wins, so "a/b" beats "b".
 */
export function itemOfMessage(line: string, paths: readonly string[]): number {
  let best = -1;
  let bestLen = -1;
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i] as string;
    if (p === '' || p.length <= bestLen) continue;
    if (mentions(line, p)) {
      best = i;
      bestLen = p.length;
    }
  }
  return best;
}

function mentions(line: string, p: string): boolean {
  if (line.includes(`"${p}"`) || line.includes(`/${p}"`) || line.endsWith(` ${p}`) || line.endsWith(`/${p}`))
    return true;
  // Deletions name the relative path in parentheses: `delete_file: unlink(a/b) failed`, also
  // for an entry inside a directory being removed.
  if (line.includes(`(${p})`) || line.includes(`(${p}/`)) return true;
  // Receiver temp file: "<dir>/.<name-prefix>.XXXXXX"
  const slash = p.lastIndexOf('/');
  const dirPart = slash < 0 ? '' : p.slice(0, slash + 1);
  const base = p.slice(slash + 1);
  const head = `${dirPart}.`;
  let from = 0;
  for (;;) {
    const at = line.indexOf(head, from);
    if (at < 0) return false;
    from = at + 1;
    if (at > 0 && line[at - 1] !== '/' && line[at - 1] !== '"') continue;
    const rest = line.slice(at + head.length);
    for (const m of rest.matchAll(/\.[A-Za-z0-9]{6}"/g)) {
      const prefix = rest.slice(0, m.index).replace(/\uFFFD+$/, '');
      if (prefix === base || (Buffer.byteLength(prefix) >= 100 && base.startsWith(prefix))) return true;
    }
  }
}
