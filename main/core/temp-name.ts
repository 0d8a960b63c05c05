import { createHash } from 'node:crypto';

/** Prefix of every temporary name Ferry creates on a server. Always ignored and cleaned at start-up. */
export const TEMP_PREFIX = '.ferry-tmp-';

/**
 * Prefix of a server entry Ferry moved aside to check it before replacing or removing it
 * (transport/sftp-expected.ts). Ignored like temp files, but never cleaned up by itself: if
 * Ferry loses the connection in the instant between moving an entry aside and settling it,
 * the server's version stays under this name rather than being deleted.
 */
export const ASIDE_PREFIX = '.ferry-aside-';

/**
 * The server trash (`--trash`), at the remote root: `.ferry-trash/<UTC stamp>/<path>` holds
 * what Ferry deleted or overwrote in the pass of that stamp. Never synced, never counted by
 * the delete rails, never removed by mirror mode; pruned after `--trash-days`.
 */
export const TRASH_DIR = '.ferry-trash';

/**
 * The aside name of an entry called `name`, in the same directory: the prefix and 64 bits
 * of the name's SHA-256. Derived from the name, so the next pass can tell from the names it
 * knows in that directory what a leftover aside was (aside-recovery.ts), with no journal.
 */
export function asideNameFor(name: string): string {
  return `${ASIDE_PREFIX}${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}
