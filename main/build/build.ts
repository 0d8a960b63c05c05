/**
 * Builds the app with esbuild (the one bundler: fast, already a dependency, no config files).
 *   renderer: renderer/main.ts -> out/renderer/main.js (+ index.html, styles.css), for Chromium.
 *   preload:  preload/preload.ts -> out/preload/preload.cjs (sandboxed preloads must be one CommonJS file).
 *   main:     main/app/main.ts -> out/main/main.js (ESM; npm packages stay external).
 * Usage: node main/build/build.ts [renderer|preload|main|all]   (default all)
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function buildRenderer(outDir: string = join(root, 'out', 'renderer')): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, 'renderer', 'main.ts')],
    outfile: join(outDir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome128',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  await copyFile(join(root, 'renderer', 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(root, 'renderer', 'styles.css'), join(outDir, 'styles.css'));
  return outDir;
}

export async function buildPreload(outDir: string = join(root, 'out', 'preload')): Promise<void> {
  await build({
    entryPoints: [join(root, 'preload', 'preload.ts')],
    outfile: join(outDir, 'preload.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    external: ['electron'],
    logLevel: 'warning',
  });
}

export async function buildMain(outDir: string = join(root, 'out', 'main')): Promise<void> {
  await build({
    entryPoints: [join(root, 'main', 'app', 'main.ts')],
    outfile: join(outDir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const what = process.argv[2] ?? 'all';
  if (what === 'renderer' || what === 'all') await buildRenderer();
  if (what === 'preload' || what === 'all') await buildPreload();
  if (what === 'main' || what === 'all') await buildMain();
}
