/** Where the built parts are, relative to the bundled main (out/main/main.js). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..');

export const RENDERER_DIR = join(outDir, 'renderer');
export const PRELOAD_FILE = join(outDir, 'preload', 'preload.cjs');
export const ASSETS_DIR = join(outDir, '..', 'assets');
/** The custom scheme the window loads from: app://ferry/index.html. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'ferry';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
