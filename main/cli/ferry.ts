#!/usr/bin/env node
/**
 * Entry point of the headless `ferry` command. Runs on Node >= 22.18 (TypeScript type
 * stripping); after `npm install`, `npx ferry` finds the project's Node 24 first on PATH.
 * Also the entry of the bundle `npm run build:cli` makes (out/cli/ferry.cjs and the single
 * executable): CommonJS output, hence a promise chain instead of a top-level await.
 */
import { buildProgram } from './program.ts';
import { EXIT } from './run-folders.ts';

let settled = false;
// As an unsettled top-level await did: should the event loop run dry before the command has
// finished, exit 13, never 0 (which `sync --once` would mean as "in sync").
process.on('exit', (code) => {
  if (!settled && code === 0) process.exitCode = 13;
});

void buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      process.exitCode = 0;
    else process.exitCode = e.exitCode && e.exitCode !== 1 ? e.exitCode : EXIT.usage;
  })
  .finally(() => {
    settled = true;
    // Watch mode has stopped every folder and saved its state by the time parseAsync resolves.
    // Should a socket to a dead server (or a watcher handle) still hold the event loop open, do
    // not hang on it: exit anyway (an unref'd timer fires only if something else keeps Node up).
    setTimeout(() => process.exit(), 3000).unref();
  });
