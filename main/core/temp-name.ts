/** Prefix of every temporary name Ferry creates on a server. Always ignored and cleaned at start-up. */
export const TEMP_PREFIX = '.ferry-tmp-';

/**
 * Prefix of a server entry Ferry moved aside to check it before replacing or removing it
 * (transport/sftp-expected.ts). Ignored like temp files, but never cleaned up by itself: if
 * Ferry loses the connection in the instant between moving an entry aside and settling it,
 * the server's version stays under this name rather than being deleted.
 */
export const ASIDE_PREFIX = '.ferry-aside-';
