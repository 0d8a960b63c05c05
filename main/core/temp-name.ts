/** Prefix of every temporary name Ferry creates on a server. Always ignored and cleaned at start-up. */
export const TEMP_PREFIX = '.ferry-tmp-';
