/**
 * The control socket's protocol: JSON lines over a Unix socket. A client sends requests, each
 * with its own `id`; the server answers each with one response carrying that id. `monitor`
 * answers with the current statuses, then sends a `status` event with that id for every
 * status change until the client hangs up. Every line either side reads is validated here:
 * a peer is another process, and a line is data, never trusted.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

/** A folder by id, id prefix (at least 4 characters) or local path; absent: every folder. */
const folderSelector = z.string().min(1).max(4096).optional();
/** One target of a folder, by its remote or short name (control/targets.ts); absent: every target. */
const targetSelector = z.string().min(1).max(4096).optional();

export const requestSchema = z.discriminatedUnion('op', [
  z.object({ v: z.literal(PROTOCOL_VERSION), id: z.number().int(), op: z.literal('status') }),
  z.object({ v: z.literal(PROTOCOL_VERSION), id: z.number().int(), op: z.literal('monitor') }),
  z.object({
    v: z.literal(PROTOCOL_VERSION),
    id: z.number().int(),
    op: z.literal('pause'),
    folder: folderSelector,
    target: targetSelector,
  }),
  z.object({
    v: z.literal(PROTOCOL_VERSION),
    id: z.number().int(),
    op: z.literal('resume'),
    folder: folderSelector,
    target: targetSelector,
  }),
  z.object({
    v: z.literal(PROTOCOL_VERSION),
    id: z.number().int(),
    op: z.literal('why'),
    /** Absolute local path. */
    path: z.string().min(1).max(4096),
  }),
]);
export type ControlRequest = z.infer<typeof requestSchema>;
/** A request as a caller writes it: the version is added when it is sent. */
export type ControlRequestBody = ControlRequest extends infer R
  ? R extends unknown
    ? Omit<R, 'v' | 'id'>
    : never
  : never;

/**
 * A folder's status as it crosses the socket: the fields the commands show, checked; other
 * fields of engine/status.ts FolderStatus pass through unchecked (`--json` prints them).
 */
export const wireStatusSchema = z.looseObject({
  id: z.string(),
  localRoot: z.string(),
  remote: z.string(),
  mode: z.string(),
  state: z.enum(['starting', 'scanning', 'syncing', 'idle', 'paused', 'halted', 'error', 'held']),
  halt: z.looseObject({ reason: z.string(), message: z.string() }).optional(),
  transport: z.string().optional(),
  queued: z.number(),
  inFlight: z.number(),
  filesDone: z.number(),
  filesTotal: z.number(),
  bytesDone: z.number(),
  bytesTotal: z.number(),
  throughputBps: z.number(),
  lastSyncAt: z.string().optional(),
  lastError: z.string().optional(),
  failedItems: z.array(
    z.looseObject({ path: z.string(), error: z.string(), attempts: z.number(), nextRetryAt: z.string() }),
  ),
  conflictCount: z.number(),
  inSync: z.boolean(),
});
export type WireStatus = z.infer<typeof wireStatusSchema>;

export const whyVerdicts = ['synced', 'ignored', 'waiting', 'failed', 'held', 'absent', 'outside'] as const;
export type WhyVerdict = (typeof whyVerdicts)[number];

export const whyAnswerSchema = z.object({
  path: z.string(),
  verdict: z.enum(whyVerdicts),
  /** One paragraph for a person. */
  text: z.string(),
  /** The folder the path lies in (absent: outside every folder). */
  folder: z.object({ id: z.string(), localRoot: z.string(), remote: z.string() }).optional(),
  /** Answered by a running Ferry, or read from the state directory with none running. */
  source: z.enum(['running', 'state-dir']),
  /** A folder with several targets: each one's own answer (`verdict` is then the least settled of them). */
  targets: z
    .array(z.object({ target: z.string(), label: z.string(), verdict: z.enum(whyVerdicts), text: z.string() }))
    .optional(),
});
export type WhyAnswer = z.infer<typeof whyAnswerSchema>;

const ok = { id: z.number().int(), ok: z.literal(true) };
export const responseSchema = z.union([
  z.object({ ...ok, op: z.literal('status'), pid: z.number().int(), folders: z.array(wireStatusSchema) }),
  z.object({ ...ok, op: z.literal('monitor'), pid: z.number().int(), folders: z.array(wireStatusSchema) }),
  /** `targets`: with a target named, the remote it named in each folder (same order as `folders`). */
  z.object({
    ...ok,
    op: z.enum(['pause', 'resume']),
    folders: z.array(z.string()),
    targets: z.array(z.string()).optional(),
  }),
  /** `answer` absent: the path lies in none of this process's folders. */
  z.object({ ...ok, op: z.literal('why'), answer: whyAnswerSchema.optional() }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: z.string() }),
  z.object({ id: z.number().int(), event: z.literal('status'), status: wireStatusSchema }),
]);
export type ControlResponse = z.infer<typeof responseSchema>;

/** Longest line either side accepts; a longer one is a broken or hostile peer. */
export const MAX_LINE = 4 * 1024 * 1024;

/** Parses one line with `schema`; throws a sentence naming the first problem. */
export function parseLine<T>(schema: z.ZodType<T>, line: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${what} is malformed: ${i ? `${i.path.join('.') || '(top level)'}: ${i.message}` : 'invalid'}`);
  }
  return r.data;
}

/** Splits a stream of chunks into lines, refusing any longer than {@link MAX_LINE}. */
export function lineSplitter(onLine: (line: string) => void, onTooLong: () => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    if (partial.length > MAX_LINE) {
      partial = '';
      onTooLong();
      return;
    }
    for (const line of parts) if (line.trim()) onLine(line);
  };
}
