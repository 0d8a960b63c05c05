/** A local folder and FolderConfig for loop tests against the in-memory server (memory-transport.ts). */
import type { TestContext } from 'node:test';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FolderConfig, FolderSync } from '../../main/engine/folder-loop.ts';
import type { FolderStatus } from '../../main/engine/status.ts';

export function memoryFolder(t: TestContext, files: Record<string, string>, overrides: Partial<FolderConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-loop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const localRoot = join(dir, 'local');
  mkdirSync(localRoot);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(localRoot, p, '..'), { recursive: true });
    writeFileSync(join(localRoot, p), content);
  }
  const config: FolderConfig = {
    id: 'loop-test',
    localRoot,
    endpoint: {
      host: 'memory.invalid',
      port: 22,
      user: 'u',
      displayName: 'memory',
      remoteRoot: '/srv',
      identityFiles: [],
      knownHostsPath: join(dir, 'known_hosts'),
      hostKeyPolicy: 'strict',
    },
    mode: 'push',
    ignore: [],
    transport: 'sftp',
    stateDir: join(dir, 'state'),
    allowMassDelete: false,
    deltaThreshold: Infinity,
    bulkThreshold: Infinity,
    bulkBytes: Infinity,
    pollIntervalMs: 60_000,
    rescanIntervalMs: 0,
    ...overrides,
  };
  return { config, localRoot };
}

/** Resolves with the first status `sync` publishes that satisfies `pred` (or one it already has). */
export function statusWhere(sync: FolderSync, pred: (s: FolderStatus) => boolean, what: string): Promise<FolderStatus> {
  const now = sync.status();
  if (pred(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no status with ${what}; last: ${JSON.stringify(sync.status())}`)),
      10_000,
    );
    const on = (s: FolderStatus) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      sync.off('status', on);
      resolve(s);
    };
    sync.on('status', on);
  });
}

export const inSync = (s: FolderStatus) => s.state === 'idle' && s.inSync;
