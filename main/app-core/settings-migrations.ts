/**
 * The persisted app settings (language, open at login, the folder list) and their versioned
 * migrations.
 *
 * Invariants:
 * - What is on disk carries `version`; {@link migrateSettings} brings any older version up to
 *   {@link CURRENT_SETTINGS_VERSION} one step at a time, then validates the result with the
 *   current schema. It never guesses: a file from a newer Ferry, or one that does not match
 *   its own version's shape, is an Error saying what is wrong.
 * - Secrets are never part of these settings (they live in the SecretStore).
 *
 * History:
 * - (none): an empty or missing file: defaults.
 * - 1: `{ version: 1, locale, folders: [{ id, local, target: "user@host:/path", mode, ignore, paused }] }`
 *   (the target as one string, as the CLI takes it).
 * - 2: the target split into host, user, port, remotePath and the auth method, so the add
 *   form can show and edit them; `locale` renamed `language`; `openAtLogin` added. A folder
 *   may carry `trashDays` (the server trash, added later without a version step: a file
 *   without it reads as "no trash", which is what every folder had before). Likewise, later:
 *   `moreTargets` (each with its own `afterSync` and `remoteAfterSync`), `afterSync`,
 *   `remoteAfterSync`, `canary` and `pausedTargets`, each absent meaning what a folder
 *   without it did.
 */
import { z } from 'zod';
import { parseTarget } from '../ssh/target.ts';

export const CURRENT_SETTINGS_VERSION = 2;

const folderSchema = z.strictObject({
  id: z.string().min(1),
  localPath: z.string().min(1),
  host: z.string().min(1),
  user: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  authKind: z.enum(['agent', 'key', 'password']),
  keyPath: z.string().min(1).optional(),
  remotePath: z.string().startsWith('/'),
  mode: z.enum(['push', 'mirror', 'upload']),
  ignore: z.array(z.string()),
  trashDays: z.number().int().min(1).max(365).optional(),
  afterSync: z.string().min(1).optional(),
  /** The first server's command after sync, run on the server. */
  remoteAfterSync: z.string().min(1).optional(),
  /** Canary rollout: the first server gets each change first. */
  canary: z.boolean().optional(),
  /** Further servers of the folder (same login method; a key folder may add a key per server). */
  moreTargets: z
    .array(
      z.strictObject({
        host: z.string().min(1),
        user: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        keyPath: z.string().min(1).optional(),
        remotePath: z.string().startsWith('/'),
        /** This server's commands after sync: run here, and on it. */
        afterSync: z.string().min(1).optional(),
        remoteAfterSync: z.string().min(1).optional(),
      }),
    )
    .optional(),
  /** Servers paused on their own, by their status `remote` (only while the folder itself is not paused). */
  pausedTargets: z.array(z.string().min(1)).optional(),
  paused: z.boolean(),
});

const settingsSchema = z.strictObject({
  version: z.literal(CURRENT_SETTINGS_VERSION),
  language: z.enum(['en', 'zh-CN', 'system']),
  openAtLogin: z.boolean(),
  folders: z.array(folderSchema),
});

export type StoredFolder = z.infer<typeof folderSchema>;
export type PersistedSettings = z.infer<typeof settingsSchema>;

export function defaultSettings(): PersistedSettings {
  return { version: CURRENT_SETTINGS_VERSION, language: 'system', openAtLogin: false, folders: [] };
}

const v1Schema = z.object({
  version: z.literal(1),
  locale: z.enum(['en', 'zh-CN', 'system']).default('system'),
  folders: z
    .array(
      z.object({
        id: z.string().min(1),
        local: z.string().min(1),
        target: z.string().min(1),
        mode: z.enum(['push', 'mirror', 'upload']).default('push'),
        ignore: z.array(z.string()).default([]),
        paused: z.boolean().default(false),
      }),
    )
    .default([]),
});

function v1ToV2(raw: unknown): unknown {
  const v1 = v1Schema.parse(raw);
  return {
    version: 2,
    language: v1.locale,
    openAtLogin: false,
    folders: v1.folders.map((f) => {
      const t = parseTarget(f.target);
      return {
        id: f.id,
        localPath: f.local,
        host: t.host,
        ...(t.user !== undefined ? { user: t.user } : {}),
        ...(t.port !== undefined ? { port: t.port } : {}),
        authKind: 'agent',
        remotePath: t.path,
        mode: f.mode,
        ignore: f.ignore,
        paused: f.paused,
      };
    }),
  };
}

/** `MIGRATIONS[n]` turns version n into version n + 1. */
const MIGRATIONS: Record<number, (raw: unknown) => unknown> = { 1: v1ToV2 };

export interface MigrationResult {
  settings: PersistedSettings;
  /** The version read from disk when it was older than the current one (0: no file). */
  migratedFrom?: number;
}

/** Brings stored settings (any version, as `unknown`) to the current version, or throws. */
export function migrateSettings(raw: unknown, source = 'the settings file'): MigrationResult {
  if (raw === undefined || raw === null || (typeof raw === 'object' && Object.keys(raw).length === 0)) {
    return { settings: defaultSettings(), migratedFrom: 0 };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(
      `${source} does not hold a settings object. Move it aside and restart Ferry to start with default settings.`,
    );
  }
  const version = (raw as { version?: unknown }).version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new Error(
      `${source} has no valid "version" field (found ${JSON.stringify(version)}). Move it aside and restart Ferry to start with default settings.`,
    );
  }
  if (version > CURRENT_SETTINGS_VERSION) {
    throw new Error(
      `${source} was written by a newer Ferry (settings version ${version}; this Ferry knows up to ${CURRENT_SETTINGS_VERSION}). Update Ferry, or move the file aside to start over.`,
    );
  }
  let current: unknown = raw;
  for (let v = version; v < CURRENT_SETTINGS_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new Error(`No migration from settings version ${v}; this is a bug in Ferry.`);
    try {
      current = step(current);
    } catch (err) {
      throw new Error(`${source} (settings version ${v}) could not be upgraded: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const parsed = settingsSchema.safeParse(current);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${source} is not valid: ${issue ? `${issue.path.join('.') || 'top level'}: ${issue.message}` : 'unknown problem'}. Move it aside and restart Ferry to start with default settings.`,
    );
  }
  return { settings: parsed.data, ...(version < CURRENT_SETTINGS_VERSION ? { migratedFrom: version } : {}) };
}
