/**
 * Builds the headless `ferry` for machines without Node (issue 18, item 4):
 *   bundle: main/cli/ferry.ts -> out/cli/ferry.cjs, the CLI and every npm dependency in one
 *           CommonJS file (ssh2's optional native `cpu-features` and `sshcrypto.node` stay out:
 *           ssh2 falls back to its JavaScript code without them). `bin/ferry` runs it.
 *   all:    that, then out/cli/ferry, a Node single executable application for this platform
 *           (Linux x64 here): the Node 24 binary `npm ci` installed (node_modules/node), symbols
 *           stripped when `strip` exists, with the bundle and its V8 code cache injected by
 *           postject. It needs no Node, no node_modules and no network.
 * Usage: node main/build/build-cli.ts [bundle|all|prepare]   (default all: `npm run build:cli`)
 *   prepare: the bundle, for `npm ci`/`npm install`; a failure is only reported (bin/ferry
 *            then runs the sources), so installing never fails on it.
 *
 * CommonJS, not ESM: Node 24's single executable runs a CommonJS main script only, and an
 * ESM bundle failed at start in ssh2's lib/agent.js (ERR_AMBIGUOUS_MODULE_SYNTAX).
 */
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_OUT_DIR = join(root, 'out', 'cli');

/** Left out of the bundle; ssh2 requires each inside a try and does without it. */
const OPTIONAL_NATIVE = ['cpu-features', '*.node'];

/** The sentinel Node's binary carries for single executable applications (Node's docs). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The Node 24 that `npm ci` installs (the `node` package), else the one running this. */
export function nodeBinary(): string {
  const installed = join(root, 'node_modules', 'node', 'bin', 'node');
  return existsSync(installed) ? installed : process.execPath;
}

export async function buildCliBundle(outDir: string = CLI_OUT_DIR): Promise<string> {
  const outfile = join(outDir, 'ferry.cjs');
  await mkdir(outDir, { recursive: true });
  const { build } = await import('esbuild'); // here, so `prepare` can say what is missing
  const result = await build({
    entryPoints: [join(root, 'main', 'cli', 'ferry.ts')],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node24',
    external: OPTIONAL_NATIVE,
    // Whitespace and syntax only: names stay, so stack traces stay readable. 1.3 MB instead of
    // 2.0 MB; start-up was the same side by side (docs/BENCHMARKS.md).
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  // Warnings fail the build: one is esbuild's "import.meta is not available" (CommonJS output),
  // for code that would locate files from its own URL, which a single executable has not.
  if (result.warnings.length > 0) throw new Error(`esbuild warned ${result.warnings.length} time(s): see above.`);
  await assertSelfContained(outfile);
  return outfile;
}

/**
 * A single executable's `require` loads built-in modules only: every other `require` left in
 * the bundle must be one ssh2 can do without. Catches a new dependency esbuild could not follow.
 */
async function assertSelfContained(bundle: string): Promise<void> {
  const code = await readFile(bundle, 'utf8');
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const allowed = (id: string) =>
    builtins.has(id) || id.startsWith('node:') || id === 'cpu-features' || id.endsWith('.node');
  const stray = [...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)]
    .map((m) => m[1] ?? '')
    .filter((id) => !allowed(id));
  if (stray.length > 0) throw new Error(`The bundle still requires ${[...new Set(stray)].join(', ')}.`);
}

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

function hasCommand(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function buildCliExecutable(outDir: string = CLI_OUT_DIR): Promise<string> {
  if (process.platform !== 'linux')
    throw new Error(
      `build:cli makes a Linux executable; this is ${process.platform} (Node's docs name the extra steps there).`,
    );
  const node = nodeBinary();
  const version = run(node, ['--version'], 'node --version').trim();
  if (!/^v2[4-9]\./.test(version))
    throw new Error(`${node} is Node ${version}; the executable needs Node 24 or later.`);
  const bundle = await buildCliBundle(outDir);
  const output = join(outDir, 'ferry');
  const work = join(outDir, '.sea');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    // The blob must come from the very Node binary it is injected into (same version).
    const blob = join(work, 'ferry.blob');
    const config = join(work, 'sea-config.json');
    await writeFile(
      config,
      JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
    );
    run(node, ['--experimental-sea-config', config], 'node --experimental-sea-config');

    const exe = join(work, 'ferry');
    await copyFile(node, exe);
    await chmod(exe, 0o755);
    if (!(await readFile(exe)).includes(SEA_FUSE)) throw new Error(`${node} has no single-executable fuse.`);
    // The npm `node` package ships Node's debug symbols: 126 MB, 108 MB stripped.
    if (hasCommand('strip')) run('strip', [exe], 'strip');
    const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
    // postject prints "Can't find string offset for section name" warnings for Node's notes:
    // harmless, so its output is shown only when it fails.
    run(node, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], 'postject');
    await rename(exe, output);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return output;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const what = process.argv[2] ?? 'all';
  if (what === 'bundle') console.log(await buildCliBundle());
  else if (what === 'all') console.log(await buildCliExecutable());
  else if (what === 'prepare') {
    try {
      await buildCliBundle();
    } catch (err) {
      console.warn(`Could not bundle the ferry CLI (${String(err)}); \`ferry\` will run from the sources.`);
    }
  } else throw new Error(`Unknown target ${what}: bundle, all or prepare.`);
}
