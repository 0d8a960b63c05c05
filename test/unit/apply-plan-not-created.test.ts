/**
 * applyPlan never asks a transport to create anything below a directory the server refused
 * to create (a failed mkdir, or a failed rename of a directory). rsync creates missing parents
 * by itself, with default permissions. A directory Ferry had failed to create, but that got
 * onto the server anyway, was unknown to the index, and it stayed there for good once deleted
 * locally (a short soak).
 *
 * The transport here is a script: it answers as the real ones do, and records what it was
 * asked. This test checks the engine's decisions. The transports are tested against the
 * real sshd elsewhere; see sftp-mkdir.test.ts for SFTP's own rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPlan, type FileOutcome } from '../../main/engine/apply-plan.ts';
import type { Plan, PlanOp } from '../../main/core/plan.ts';
import type { Entry, FileEntry } from '../../main/core/tree.ts';
import type { ItemResult, RemoteTransport, UploadResult } from '../../main/transport/transport.ts';

const file: FileEntry = { kind: 'file', size: 1, mtimeMs: 1_000, mode: 0o644 };

/** Refuses to create the paths in `refuse`; everything else succeeds. Records every path asked for. */
function scriptedTransport(refuse: Set<string>): RemoteTransport & { asked: string[] } {
  const asked: string[] = [];
  const answer = (path: string): ItemResult =>
    refuse.has(path) ? { path, error: 'Failure (read-only file system)', errorCode: 'other' } : { path };
  return {
    kind: 'rsync',
    canRename: true,
    asked,
    scan: () => Promise.reject(new Error('not used')),
    upload: (items) => {
      asked.push(...items.map((i) => `upload ${i.path}`));
      return Promise.resolve(
        items.map((i): UploadResult => ({
          ...answer(i.path),
          ...(refuse.has(i.path) ? {} : { uploaded: i.expected }),
        })),
      );
    },
    mkdir: (items) => {
      asked.push(...items.map((i) => `mkdir ${i.path}`));
      return Promise.resolve(items.map((i) => answer(i.path)));
    },
    symlink: (items) => {
      asked.push(...items.map((i) => `symlink ${i.path}`));
      return Promise.resolve(items.map((i) => answer(i.path)));
    },
    rename: (items) => {
      asked.push(...items.map((i) => `rename ${i.from} -> ${i.to}`));
      return Promise.resolve(items.map((i) => answer(i.to)));
    },
    remove: (items) => Promise.resolve(items.map((i) => ({ path: i.path }))),
    setAttributes: (items) => Promise.resolve(items.map((i) => ({ path: i.path }))),
    close: () => Promise.resolve(),
  };
}

function plan(ops: PlanOp[]): Plan {
  return { ops, conflicts: [], drift: [], deletedFiles: 0 };
}

test('nothing is created below a directory whose mkdir or rename the server refused; those ops fail instead', async () => {
  const transport = scriptedTransport(new Set(['new', 'moved']));
  const ancestor = new Map<string, Entry>([['old', { kind: 'dir', mode: 0o755 }]]);
  const outcomes: FileOutcome[] = [];
  await applyPlan({
    plan: plan([
      { op: 'mkdir', path: 'new', entry: { kind: 'dir', mode: 0o775 }, keepRemoteCopy: false },
      { op: 'mkdir', path: 'elsewhere', entry: { kind: 'dir', mode: 0o755 }, keepRemoteCopy: false },
      { op: 'rename', from: 'old', to: 'moved', kind: 'dir' },
      { op: 'rename', from: 'a.txt', to: 'new/a.txt', kind: 'file' },
      { op: 'upload', path: 'new/deep/f.txt', entry: file, keepRemoteCopy: false },
      { op: 'upload', path: 'moved/g.txt', entry: file, keepRemoteCopy: false },
      { op: 'upload', path: 'elsewhere/h.txt', entry: file, keepRemoteCopy: false },
      { op: 'symlink', path: 'new/link', entry: { kind: 'symlink', target: '../x' }, keepRemoteCopy: false },
    ]),
    transport,
    localRoot: '/nonexistent',
    ancestor,
    remote: new Map(),
    now: () => new Date(0),
    onOutcome: (o) => outcomes.push(o),
  });

  assert.deepEqual(transport.asked, ['mkdir new', 'mkdir elsewhere', 'rename old -> moved', 'upload elsewhere/h.txt']);
  const failed = outcomes
    .filter((o) => !o.ok)
    .map((o) => `${o.op} ${o.path}${o.from ? ` <- ${o.from}` : ''}: ${o.error ?? ''}`);
  assert.deepEqual(failed, [
    'mkdir new: Failure (read-only file system)',
    'rename new/a.txt <- a.txt: not created: the server refused to create "new" first; it is tried again with it',
    'rename moved <- old: Failure (read-only file system)',
    'upload new/deep/f.txt: not created: the server refused to create "new" first; it is tried again with it',
    'upload moved/g.txt: not created: the server refused to create "moved" first; it is tried again with it',
    'symlink new/link: not created: the server refused to create "new" first; it is tried again with it',
  ]);
  // The ancestor learns only what happened.
  assert.deepEqual([...ancestor.keys()].sort(), ['elsewhere', 'elsewhere/h.txt', 'old']);
});
