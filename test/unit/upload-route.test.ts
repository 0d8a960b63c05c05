import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeUploads, BULK_MIN_FILES, type UploadRouteOptions } from '../../main/engine/upload-route.ts';
import type { PlanOp } from '../../main/core/plan.ts';
import type { Entry } from '../../main/core/tree.ts';

const MiB = 1024 * 1024;
type Upload = Extract<PlanOp, { op: 'upload' }>;
const up = (path: string, size: number, keepRemoteCopy = false): Upload => ({
  op: 'upload',
  path,
  entry: { kind: 'file', size, mtimeMs: 1000, mode: 0o644 },
  keepRemoteCopy,
});
const many = (n: number, size: number) => Array.from({ length: n }, (_, i) => up(`f${i}`, size));
const opts = (o: Partial<UploadRouteOptions> = {}): UploadRouteOptions => ({
  deltaAvailable: true,
  deltaThreshold: 48 * MiB,
  bulkThreshold: 1000,
  bulkBytes: 128 * MiB,
  remote: new Map<string, Entry>(),
  ...o,
});
const counts = (r: { main: Upload[]; delta: Upload[] }) => ({ main: r.main.length, delta: r.delta.length });

test('without rsync everything goes over SFTP, however large or many', () => {
  assert.deepEqual(
    counts(routeUploads([...many(2000, 4096), up('big', 1024 * MiB)], opts({ deltaAvailable: false }))),
    { main: 2001, delta: 0 },
  );
});

test('files at the delta threshold go through rsync, smaller ones stay on SFTP in a small pass', () => {
  const r = routeUploads([up('big', 48 * MiB), up('just-under', 48 * MiB - 1), up('small', 10)], opts());
  assert.deepEqual(
    r.delta.map((u) => u.path),
    ['big'],
  );
  assert.deepEqual(
    r.main.map((u) => u.path),
    ['just-under', 'small'],
  );
});

test('a large file over a server directory or symlink stays on SFTP', () => {
  const remote = new Map<string, Entry>([['big', { kind: 'dir', mode: 0o755 }]]);
  assert.deepEqual(counts(routeUploads([up('big', 64 * MiB)], opts({ remote }))), { main: 1, delta: 0 });
});

test('a pass of bulkThreshold uploads goes through rsync; one fewer does not (when its bytes are few)', () => {
  assert.deepEqual(counts(routeUploads(many(1000, 4096), opts())), { main: 0, delta: 1000 });
  assert.deepEqual(counts(routeUploads(many(999, 4096), opts())), { main: 999, delta: 0 });
});

test('a pass of fewer files that add up to bulkBytes goes through rsync (999 x 1 MiB was SFTP before)', () => {
  assert.deepEqual(counts(routeUploads(many(999, MiB), opts())), { main: 0, delta: 999 });
  assert.deepEqual(counts(routeUploads(many(128, MiB), opts())), { main: 0, delta: 128 });
  assert.deepEqual(counts(routeUploads(many(127, MiB), opts())), { main: 127, delta: 0 });
});

test('byte bulk needs at least BULK_MIN_FILES small files', () => {
  const size = 47 * MiB;
  assert.deepEqual(counts(routeUploads(many(BULK_MIN_FILES - 1, size), opts())), {
    main: BULK_MIN_FILES - 1,
    delta: 0,
  });
  assert.deepEqual(counts(routeUploads(many(BULK_MIN_FILES, size), opts())), { main: 0, delta: BULK_MIN_FILES });
});

test('uploads that keep the server version as a conflict copy always stay on SFTP and do not count as bulk bytes', () => {
  const uploads = [...many(20, 4 * MiB), up('conflicted', 200 * MiB, true), up('conflicted-small', MiB, true)];
  const bulky = routeUploads(uploads, opts({ bulkBytes: 64 * MiB }));
  assert.deepEqual(
    bulky.main.map((u) => u.path),
    ['conflicted', 'conflicted-small'],
  );
  assert.equal(bulky.delta.length, 20);
  const r = routeUploads(uploads, opts({ bulkBytes: 100 * MiB }));
  assert.equal(
    r.delta.length,
    0,
    '20 x 4 MiB = 80 MiB of small uploads is under 100 MiB; the conflict copies do not count',
  );
});
