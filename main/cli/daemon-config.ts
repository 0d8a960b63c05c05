/**
 * The `ferry daemon --config FILE` file: JSON, validated with a zod schema. Errors name the
 * key path (`folders[1].target`) and the problem, and nothing starts until the whole file
 * is valid.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { FolderOptions, TargetOptions } from '../engine/folder-options.ts';
import { parseRate } from '../transport/rate-limit.ts';

const targetString = z.string().min(1, 'must be a target like user@host:/path');

/** One of a folder's `targets`: a target, or a target with its own commands after sync. */
const targetSchema = z.union([
  targetString,
  z.object({ target: targetString, afterSync: z.string().optional(), remoteAfterSync: z.string().optional() }).strict(),
]);

const folderSchema = z
  .object({
    local: z.string().min(1, 'must be a local folder path'),
    target: targetString.optional(),
    /** Several servers: one watcher and one local scan feed them all (after `target`, if given). */
    targets: z.array(targetSchema).min(1, 'must list at least one target').optional(),
    /** Commands after sync for every target that does not give its own. */
    afterSync: z.string().optional(),
    remoteAfterSync: z.string().optional(),
    /** Seconds a command after sync may run. */
    hookTimeout: z.number().int().positive().optional(),
    canary: z.boolean().optional(),
    mode: z.enum(['push', 'mirror', 'upload']).optional(),
    identity: z.union([z.string(), z.array(z.string())]).optional(),
    knownHosts: z.string().optional(),
    hostKeyPolicy: z.enum(['strict', 'accept-new']).optional(),
    transport: z.enum(['auto', 'sftp', 'rsync']).optional(),
    ignore: z.array(z.string()).optional(),
    allowMassDelete: z.boolean().optional(),
    trash: z.boolean().optional(),
    trashDays: z.number().int().min(0).optional(),
    /** Upload limit: `500K`, `5M`, or bytes per second as a number. */
    bwlimit: z
      .union([z.string(), z.number().int()])
      .transform((v, ctx) => {
        try {
          return parseRate(String(v));
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      })
      .optional(),
  })
  .strict()
  // Checked even when other keys are wrong, so every problem is listed at once.
  .refine((f) => f.target !== undefined || f.targets !== undefined, {
    message: 'must be a target like user@host:/path (or give a "targets" list)',
    path: ['target'],
    when: (p) => typeof p.value === 'object' && p.value !== null,
  });

export const daemonConfigSchema = z
  .object({
    stateDir: z.string().optional(),
    sshConfig: z.string().optional(),
    folders: z.array(folderSchema).min(1, 'must list at least one folder'),
  })
  .strict();

export type DaemonConfig = z.infer<typeof daemonConfigSchema>;

function keyPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '') ||
    '(top level)'
  );
}

/** Validates parsed JSON; throws one Error listing every problem by key. */
export function parseDaemonConfig(value: unknown, file: string): DaemonConfig {
  const r = daemonConfigSchema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `  ${keyPath(i.path)}: ${i.message}`).join('\n');
  throw new Error(`${file} is not a valid Ferry config:\n${problems}`);
}

export async function loadDaemonConfig(file: string): Promise<{ config: DaemonConfig; folders: FolderOptions[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read the config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const config = parseDaemonConfig(json, file);
  const base = dirname(resolve(file));
  const folders = config.folders.map((f): FolderOptions => {
    const hooks = (t: { afterSync?: string; remoteAfterSync?: string }) => {
      const h = t.afterSync !== undefined || t.remoteAfterSync !== undefined ? t : f;
      return {
        ...(h.afterSync !== undefined ? { afterSync: h.afterSync } : {}),
        ...(h.remoteAfterSync !== undefined ? { remoteAfterSync: h.remoteAfterSync } : {}),
      };
    };
    const all = [
      ...(f.target !== undefined ? [{ target: f.target }] : []),
      ...(f.targets ?? []).map((t) => (typeof t === 'string' ? { target: t } : t)),
    ].map((t) => ({ ...hooks(t), target: t.target }));
    const [first, ...more] = all as [(typeof all)[number], ...typeof all];
    return folderOptions(f, first, more);
  });
  return { config, folders };

  function folderOptions(
    f: DaemonConfig['folders'][number],
    first: TargetOptions,
    more: TargetOptions[],
  ): FolderOptions {
    return {
      local: resolve(base, f.local),
      ...first,
      ...(more.length ? { moreTargets: more } : {}),
      ...(f.canary ? { canary: true } : {}),
      ...(f.hookTimeout !== undefined ? { hookTimeoutMs: f.hookTimeout * 1000 } : {}),
      ...(f.mode ? { mode: f.mode } : {}),
      ...(f.identity
        ? { identity: (Array.isArray(f.identity) ? f.identity : [f.identity]).map((p) => resolve(base, p)) }
        : {}),
      ...(f.knownHosts ? { knownHosts: resolve(base, f.knownHosts) } : {}),
      ...(f.hostKeyPolicy ? { hostKeyPolicy: f.hostKeyPolicy } : {}),
      ...(f.transport ? { transport: f.transport } : {}),
      ...(f.ignore ? { ignore: f.ignore } : {}),
      ...(f.allowMassDelete !== undefined ? { allowMassDelete: f.allowMassDelete } : {}),
      ...(f.bwlimit ? { bwlimitBps: f.bwlimit } : {}),
      ...(f.trash !== undefined ? { trash: f.trash } : {}),
      ...(f.trashDays !== undefined ? { trashDays: f.trashDays } : {}),
      ...(config.stateDir ? { stateDir: resolve(base, config.stateDir) } : {}),
      ...(config.sshConfig ? { sshConfig: resolve(base, config.sshConfig) } : {}),
    };
  }
}
