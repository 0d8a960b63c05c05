/**
 * Validation of every IPC command's arguments, which arrive as `unknown` from a renderer
 * that main must not trust. One zod tuple schema per command, typed against the contract
 * with `satisfies`, so a contract change that the schemas do not follow fails to compile.
 *
 * Invariants: objects are strict (unknown keys are refused, so a typo never passes
 * silently); strings that name paths are non-empty and NUL-free; remote paths are absolute.
 */
import { z } from 'zod';
import type { CommandArgs, CommandName } from './contract.ts';

const text = (what: string, max = 4096) =>
  z
    .string({ error: `${what} must be text` })
    .min(1, { error: `${what} is empty` })
    .max(max, { error: `${what} is longer than ${max} characters` })
    .refine((s) => !s.includes('\0'), { error: `${what} contains a NUL character` });

const folderId = text('the folder id', 64);
const localPath = text('the local path');
const remotePath = text('the remote path').refine((s) => s.startsWith('/'), {
  error: 'the remote path must be absolute (start with "/")',
});
const port = z
  .number({ error: 'the port must be a number' })
  .int({ error: 'the port must be a whole number' })
  .min(1, { error: 'the port must be from 1 to 65535' })
  .max(65535, { error: 'the port must be from 1 to 65535' });
const host = text('the host', 255).refine((s) => !/\s/.test(s) && !s.startsWith('-'), {
  error: 'the host must not contain spaces or start with "-"',
});
const user = text('the user name', 255).refine((s) => !/[\s:/]/.test(s) && !s.startsWith('-'), {
  error: 'the user name must not contain spaces, ":" or "/" or start with "-"',
});

const auth = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('agent') }),
    z.strictObject({
      kind: z.literal('key'),
      keyPath: text('the key file path'),
      passphrase: z.string().max(1024).optional(),
    }),
    z.strictObject({
      kind: z.literal('password'),
      password: z.string({ error: 'the password must be text' }).max(1024),
    }),
  ],
  { error: 'auth must be one of: agent, key (with keyPath), password (with password)' },
);

const connectionFields = {
  host,
  user: user.optional(),
  port: port.optional(),
  auth,
  remotePath,
};
const connection = z.strictObject(connectionFields);
const addFolder = z.strictObject({
  ...connectionFields,
  localPath,
  mode: z.enum(['push', 'mirror', 'upload'], { error: 'the mode must be "push", "mirror" or "upload"' }),
  ignore: z.array(text('an ignore pattern', 1024)).max(1000),
  trashDays: z
    .number({ error: 'the trash days must be a number' })
    .int({ error: 'the trash days must be a whole number' })
    .min(1, { error: 'the trash keeps things from 1 to 365 days' })
    .max(365, { error: 'the trash keeps things from 1 to 365 days' })
    .optional(),
  afterSync: text('the command after sync').optional(),
  remoteAfterSync: text('the command on the server after sync').optional(),
  canary: z.boolean({ error: 'canary must be true or false' }).optional(),
});
const updateFolder = z.strictObject({
  ...connectionFields,
  mode: addFolder.shape.mode,
  ignore: addFolder.shape.ignore,
  trashDays: addFolder.shape.trashDays,
  afterSync: addFolder.shape.afterSync,
  remoteAfterSync: addFolder.shape.remoteAfterSync,
  canary: addFolder.shape.canary,
});
const addTarget = z.strictObject({ ...connectionFields, remoteAfterSync: addFolder.shape.remoteAfterSync });
const targetCommands = z.strictObject({
  afterSync: addFolder.shape.afterSync,
  remoteAfterSync: addFolder.shape.remoteAfterSync,
});
/** A server of a folder, as its status names it (`remote`). */
const target = text('the server', 1024);
const fingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, { error: 'the fingerprint must look like SHA256:<43 base64 characters>' });
const isoTime = z.iso.datetime({ offset: true, error: 'the time must be an ISO 8601 date-time' });
const settingsPatch = z.strictObject({
  language: z.enum(['en', 'zh-CN', 'system'], { error: 'the language must be "en", "zh-CN" or "system"' }).optional(),
  openAtLogin: z.boolean({ error: 'openAtLogin must be true or false' }).optional(),
});

const none = z.tuple([]);
const oneFolder = z.tuple([folderId]);

/** The argument schema of each command. */
export const argumentSchemas = {
  listFolders: none,
  inspectLocalPath: z.tuple([localPath]),
  chooseLocalFolder: none,
  addFolder: z.tuple([addFolder]),
  previewFolder: z.tuple([addFolder]),
  updateFolder: z.tuple([folderId, updateFolder]),
  ignorePath: z.tuple([folderId, text('the file path')]),
  syncNow: oneFolder,
  openFolder: oneFolder,
  whyPath: z.tuple([folderId, text('the file path')]),
  removeFolder: oneFolder,
  pauseFolder: oneFolder,
  resumeFolder: oneFolder,
  pauseFolderUntil: z.tuple([folderId, isoTime]),
  pauseAll: none,
  resumeAll: none,
  retryFailed: oneFolder,
  retryPath: z.tuple([folderId, text('the file path')]),
  addTarget: z.tuple([folderId, addTarget]),
  removeTarget: z.tuple([folderId, target]),
  pauseTarget: z.tuple([folderId, target]),
  resumeTarget: z.tuple([folderId, target]),
  setTargetCommands: z.tuple([folderId, target, targetCommands]),
  listTrash: oneFolder,
  restoreFromTrash: z.tuple([
    folderId,
    text('the file path'),
    z.string().regex(/^\d{8}-\d{6}$/, { error: 'the trash stamp must look like YYYYMMDD-HHMMSS' }),
  ]),
  confirmMassDelete: oneFolder,
  cancelMassDelete: oneFolder,
  provideSecret: z.tuple([folderId, text('the password or passphrase', 1024)]),
  getConflicts: oneFolder,
  markConflictResolved: z.tuple([folderId, isoTime, text('the conflict path')]),
  openLocalFile: z.tuple([folderId, text('the file path')]),
  testConnection: z.tuple([connection]),
  trustHostKey: z.tuple([z.strictObject({ host, port, fingerprint })]),
  listSshAliases: none,
  browseRemote: z.tuple([connection]),
  makeRemoteDir: z.tuple([connection]),
  getSettings: none,
  setSettings: z.tuple([settingsPatch]),
  listLoginPrompts: none,
  answerLoginPrompt: z.tuple([
    z.uuid({ error: 'the login prompt id must be a UUID' }),
    z
      .array(
        z
          .string({ error: 'each answer must be text' })
          .max(1024, { error: 'an answer is longer than 1024 characters' }),
        {
          error: 'the answers must be a list of text, or null to cancel',
        },
      )
      .min(1, { error: 'the answers are empty' })
      .max(16, { error: 'at most 16 answers' })
      .nullable(),
  ]),
} satisfies { [K in CommandName]: z.ZodType<CommandArgs<K>> };

const typedSchemas: { [K in CommandName]: z.ZodType<CommandArgs<K>> } = argumentSchemas;

/** A refused IPC call; `message` names the command and what was wrong. */
export class IpcValidationError extends Error {
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.name = 'IpcValidationError';
    this.command = command;
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const [index, ...rest] = issue.path;
  const where =
    typeof index === 'number' ? `argument ${index + 1}${rest.length ? ` (${rest.join('.')})` : ''}` : 'the arguments';
  return `${where}: ${issue.message}`;
}

/** Parses `args` for `command`; throws IpcValidationError listing every problem. */
export function validateArgs<K extends CommandName>(command: K, args: unknown): CommandArgs<K> {
  const schema = typedSchemas[command];
  if (!Array.isArray(args))
    throw new IpcValidationError(command, `Ferry refused the request "${command}": its arguments must be a list.`);
  const expected = (argumentSchemas[command] as z.ZodTuple).def.items.length;
  if (args.length !== expected) {
    throw new IpcValidationError(
      command,
      `Ferry refused the request "${command}": it takes ${expected} argument(s), got ${args.length}.`,
    );
  }
  const parsed = schema.safeParse(args);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(describeIssue);
  throw new IpcValidationError(command, `Ferry refused the request "${command}": ${problems.join('; ')}.`);
}
