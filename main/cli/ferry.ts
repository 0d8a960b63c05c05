#!/usr/bin/env node
/**
 * Entry point of the headless `ferry` command. Runs on Node >= 22.18 (TypeScript type
 * stripping); after `npm install`, `npx ferry` finds the project's Node 24 first on PATH.
 */
import { buildProgram } from './program.ts';
import { EXIT } from './run-folders.ts';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  const e = err as { code?: string; exitCode?: number };
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
    process.exitCode = 0;
  else process.exitCode = e.exitCode && e.exitCode !== 1 ? e.exitCode : EXIT.usage;
}

// Watch mode has stopped every folder and saved its state by the time parseAsync resolves.
// Should a socket to a dead server (or a watcher handle) still hold the event loop open, do
// not hang on it: exit anyway (an unref'd timer fires only if something else keeps Node up;
// the soak saw a stopped Ferry not exit within 30 s).
setTimeout(() => process.exit(), 3000).unref();
