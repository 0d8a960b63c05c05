/**
 * One listing of a whole server directory tree over an exec channel on the already open SSH
 * connection: GNU find's NUL-separated `-printf`, parsed as it streams in. On a large tree
 * this replaces thousands of SFTP READDIR round trips (and a READLINK per symlink) by one
 * process on the server; see docs/BENCHMARKS.md (issue 17).
 *
 * The listing says exactly what an SFTP scan says (sftp-scan.ts keeps the rules, this only
 * reads): for each entry its name (bytes decoded as UTF-8 the way ssh2 decodes SFTP names,
 * so an invalid name comes out the same), its type, its size, its mtime in whole seconds as
 * SFTP v3 carries it (32 bits), its permission bits, and a symlink's target. find runs with
 * `-P` (never follows a symlink, not even the start point) and `-xdev` is NOT used: SFTP
 * lists across mount points too.
 *
 * Anything unexpected means "no listing" (undefined), never a partial or empty one: the
 * caller falls back to SFTP. That covers servers without a shell or without GNU find
 * (BusyBox, BSD), `ForceCommand internal-sftp` accounts (the channel speaks SFTP, not our
 * format), a login script that prints to stdout (the first record must be the start point),
 * find's own errors (an unreadable directory, an entry gone mid-listing: exit status not 0,
 * so the end marker is missing), and a listing cut short by a lost connection.
 */
import type { Client } from 'ssh2';

/** The kinds find's `%y` prints; `f`, `d`, `l` are the ones Ferry syncs. */
const TYPES = new Set(['f', 'd', 'l', 'p', 's', 'c', 'b', 'D']);
const FIELDS = 6;
const END = Buffer.from('ferry-list-end\n');
/** How long a listing may send nothing before it is given up (the SFTP session's request timeout). */
const QUIET_MS = 120_000;

export interface ListedEntry {
  /** Path relative to the listed directory; "" is the directory itself. */
  rel: string;
  /** find's `%y`: f, d, l, or a kind Ferry does not sync. */
  type: string;
  size: number;
  /** Whole seconds, as an SFTP v3 attribute block carries them (unsigned 32 bits). */
  mtime: number;
  /** Permission bits (0o7777). */
  mode: number;
  /** The symlink's target, for type `l`. */
  target: string;
}

/**
 * Whether `path` can go into the command line as one single-quoted word that sh, bash, zsh,
 * ksh, fish and csh all take literally: no quote, backslash, `!` or control character.
 * Other roots are listed over SFTP (names below the root never reach a shell).
 */
export function quotablePath(path: string): boolean {
  return path.startsWith('/') && !/[\u0000-\u001f\u007f'\\!]/.test(path);
}

/** The command for `dir` (absolute, {@link quotablePath}). Fixed text around one quoted word. */
export function listCommand(dir: string): string {
  return `find -P '${dir}' -printf '%y\\0%P\\0%s\\0%T@\\0%m\\0%l\\0' && echo ferry-list-end`;
}

/** Parses records from `buf` starting at `pos`; returns where the unparsed rest starts. */
function parseRecords(buf: Buffer, pos: number, out: (e: ListedEntry) => void): number | 'bad' {
  const fields: number[] = new Array(FIELDS);
  for (;;) {
    let at = pos;
    for (let f = 0; f < FIELDS; f++) {
      const nul = buf.indexOf(0, at);
      if (nul < 0) return pos;
      fields[f] = nul;
      at = nul + 1;
    }
    const [e0, e1, e2, e3, e4, e5] = fields as [number, number, number, number, number, number];
    const type = buf.toString('latin1', pos, e0);
    const size = Number(buf.toString('latin1', e1 + 1, e2));
    const time = buf.toString('latin1', e2 + 1, e3);
    const dot = time.indexOf('.');
    const secs = Number(dot < 0 ? time : time.slice(0, dot));
    const mode = parseInt(buf.toString('latin1', e3 + 1, e4), 8);
    if (e2 === e1 + 1 || e3 === e2 + 1 || e4 === e3 + 1) return 'bad';
    if (!TYPES.has(type) || !Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(secs) || !(mode >= 0))
      return 'bad';
    out({
      type,
      rel: buf.toString('utf8', e0 + 1, e1),
      size,
      mtime: ((secs % 2 ** 32) + 2 ** 32) % 2 ** 32,
      mode: mode & 0o7777,
      target: type === 'l' ? buf.toString('utf8', e4 + 1, e5) : '',
    });
    pos = at;
  }
}

/**
 * Lists `dir` and everything below it, never following symlinks; `onEntry` sees each entry
 * in find's order (a directory before what it holds), the directory itself first. Resolves
 * true when the listing was complete and well formed, false when the caller must not trust
 * what it saw (and should list over SFTP instead). Rejects only when the connection fails.
 */
export function listTree(client: Client, dir: string, onEntry: (e: ListedEntry) => void): Promise<boolean> {
  return listing(client, dir, onEntry).then((r) => r === 'ok');
}

/**
 * {@link listTree} for one connection, which stops asking once the server has shown it cannot
 * list this way (no record at all came back: no shell, no GNU find, not our format). A
 * listing that failed part way (a file gone mid-listing) is tried again next time.
 */
export function treeLister(client: Client): (dir: string, onEntry: (e: ListedEntry) => void) => Promise<boolean> {
  let unable = false;
  return async (dir, onEntry) => {
    if (unable) return false;
    const r = await listing(client, dir, onEntry);
    if (r === 'unable') unable = true;
    return r === 'ok';
  };
}

function listing(client: Client, dir: string, onEntry: (e: ListedEntry) => void): Promise<'ok' | 'failed' | 'unable'> {
  if (!quotablePath(dir)) return Promise.resolve('failed');
  return new Promise((resolve) => {
    let settled = false;
    let any = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      resolve(ok ? 'ok' : any ? 'failed' : 'unable');
    };
    try {
      client.exec(listCommand(dir), (err, stream) => {
        if (err) return done(false);
        let pending: Buffer = Buffer.alloc(0);
        let first = true;
        let bad = false;
        let code: number | null | undefined;
        const seen = (e: ListedEntry) => {
          // The first record is the start point itself: anything before it (a login script's
          // output) or any other shape means this is not our listing.
          if (first && (e.rel !== '' || e.type !== 'd')) bad = true;
          first = false;
          if (bad) return;
          any = true;
          onEntry(e);
        };
        // A server that goes quiet mid-listing (find stuck on a hung mount) gets what SFTP's
        // watchdog gives it (sftp-session.ts): after as long without a byte, no listing.
        let quiet: NodeJS.Timeout | undefined;
        const heard = () => {
          clearTimeout(quiet);
          quiet = setTimeout(() => {
            bad = true;
            stream.close();
            done(false);
          }, QUIET_MS);
          quiet.unref();
        };
        heard();
        stream.on('close', () => clearTimeout(quiet));
        stream.on('data', (chunk: Buffer) => {
          heard();
          if (bad) return;
          const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
          const rest = parseRecords(buf, 0, seen);
          if (rest === 'bad') {
            bad = true;
            stream.close();
            return;
          }
          pending = buf.subarray(rest);
          // Nothing but the end marker may stay unparsed for long: a NUL-less tail longer
          // than any record's first field that is not the marker is not find's output.
          if (pending.length > END.length && !pending.includes(0)) bad = true;
        });
        // find reads nothing; an SFTP-only account's internal-sftp would wait for input for ever.
        stream.end();
        stream.stderr.resume();
        stream.on('exit', (c: number | null) => (code = c));
        stream.on('error', () => done(false));
        stream.on('close', () => done(!bad && !first && code === 0 && pending.equals(END)));
      });
    } catch {
      done(false);
    }
  });
}
