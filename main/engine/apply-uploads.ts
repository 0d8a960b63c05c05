/** The upload step of applyPlan: which transport sends which file, and the upload items. */
import type { PlanOp } from '../core/plan.ts';
import type { RemoteTransport, TransferProgress, UploadItem, UploadResult } from '../transport/transport.ts';
import type { ApplyContext } from './apply-plan.ts';
import { localPathOf } from './local-scan.ts';
import { routeUploads } from './upload-route.ts';

type UploadOp = Extract<PlanOp, { op: 'upload' }>;

/**
 * Sends uploads through the main transport, then those upload-route.ts picks through the
 * delta transport; results come back in `ops` order.
 */
export async function sendUploads(
  ctx: ApplyContext,
  ops: UploadOp[],
  copyPaths: ReadonlyMap<string, string>,
  settle: (i: number, r: UploadResult) => void,
): Promise<(UploadResult | undefined)[]> {
  const toItem = (o: UploadOp): UploadItem => {
    const conflictCopyPath = copyPaths.get(o.path);
    return {
      path: o.path,
      localPath: localPathOf(ctx.localRoot, o.path),
      expected: o.entry,
      replaces: ctx.remote.get(o.path) ?? null,
      ...(ctx.trashDir !== undefined ? { trash: ctx.trashDir } : {}),
      ...(conflictCopyPath !== undefined ? { conflictCopyPath } : {}),
      ...(ctx.landIfChanged?.(o.path) ? { landIfChanged: true } : {}),
    };
  };
  const route = routeUploads(ops, {
    deltaAvailable: ctx.deltaTransport !== undefined,
    deltaThreshold: ctx.deltaThreshold ?? Infinity,
    bulkThreshold: ctx.bulkThreshold ?? Infinity,
    bulkBytes: ctx.bulkBytes ?? Infinity,
    remote: ctx.remote,
  });
  // Each transport call counts progress from zero; the engine is told increments.
  let lastBytes = 0;
  let lastFiles = 0;
  const progress = (p: TransferProgress) => {
    ctx.onProgress?.(p.bytes - lastBytes, p.files - lastFiles);
    lastBytes = p.bytes;
    lastFiles = p.files;
  };
  const batches: [RemoteTransport, UploadOp[]][] = [[ctx.transport, route.main]];
  if (route.delta.length && ctx.deltaTransport) batches.push([ctx.deltaTransport, route.delta]);
  const indexOf = new Map(ops.map((o, i) => [o, i]));
  const results = new Array<UploadResult | undefined>(ops.length);
  for (const [t, batch] of batches) {
    if (!batch.length) continue;
    lastBytes = 0;
    lastFiles = 0;
    // routeUploads returns the very op objects it was given.
    const index = batch.map((o) => indexOf.get(o) ?? -1);
    const res = await t.upload(batch.map(toItem), progress, (j, r) => settle(index[j] ?? -1, r));
    res.forEach((r, j) => {
      const i = index[j] ?? -1;
      settle(i, r);
      if (i >= 0) results[i] = r;
    });
  }
  return results;
}
