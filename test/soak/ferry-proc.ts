/**
 * One long-running `ferry sync --json` process of the soak, which the chaos loop may
 * `kill -9` and start again. Keeps counters and the latest state instead of every event
 * (a long soak prints hundreds of thousands of lines), plus a short tail for diagnostics.
 *
 * An exit nobody asked for (a crash) is recorded and the process is started again, so one
 * crash does not end the run but is reported at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { FERRY_BIN } from '../harness/trees.ts';
import { onLines } from '../harness/lines.ts';

export interface UnexpectedExit {
  at: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
}

type Json = Record<string, unknown>;

export class FerryWatch {
  readonly name: string;
  private readonly args: string[];
  private readonly env: NodeJS.ProcessEnv;
  /** Every line Ferry printed, all incarnations, for a look after a failed run. */
  private readonly logFile: string | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private expectingExit = false;
  private stopped = false;
  /** Folder id as Ferry reports it (names the state directory). */
  folderId: string | undefined;
  /** Latest `state` event and when it came. */
  lastState: Json | undefined;
  lastStateAt = 0;
  /**
   * When Ferry's latest full pass that ran to its end (not halted) began, estimated as the
   * time its `pass` event came less its duration: what the server held before then, that
   * pass saw. Undefined before the first.
   */
  lastFullPassStart: number | undefined;
  /** Counters over the whole run, all incarnations. */
  readonly fileOk = new Map<string, number>();
  readonly fileFailed = new Map<string, number>();
  conflictEvents = 0;
  errorStates = 0;
  starts = 0;
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Last lines of output (events and stderr), for a report that explains a failure. */
  readonly tail: string[] = [];
  private stderrTail = '';

  constructor(name: string, args: string[], env: NodeJS.ProcessEnv, logFile?: string) {
    this.name = name;
    this.args = args;
    this.env = env;
    this.logFile = logFile;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** True when the latest state Ferry reported is idle and in sync. */
  get inSync(): boolean {
    return this.lastState?.state === 'idle' && this.lastState.inSync === true;
  }

  start(): void {
    if (this.child || this.stopped) return;
    this.starts++;
    this.log(`--- start ${this.starts} at ${new Date().toISOString()}`);
    this.lastState = undefined;
    const child = spawn(process.execPath, [FERRY_BIN, 'sync', '--json', ...this.args], {
      env: { ...process.env, SSH_AUTH_SOCK: '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    onLines(child.stdout, (line) => this.onLine(line));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-4000);
      this.log(`stderr: ${d}`);
      this.remember(`stderr: ${d.trim()}`);
    });
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        if (this.child === child) this.child = undefined;
        this.log(
          `--- exit ${code ?? signal} at ${new Date().toISOString()}${this.expectingExit ? '' : ' (unexpected)'}`,
        );
        if (!this.expectingExit && !this.stopped) {
          this.unexpectedExits.push({ at: new Date().toISOString(), code, signal, stderrTail: this.stderrTail });
          setTimeout(() => this.start(), 1000);
        }
        resolve();
      });
    });
  }

  /** `kill -9`: no chance to finish transfers or save the index. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.expectingExit = true;
    c.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a clean stop); SIGKILL if it has not exited after `graceMs`. Returns the exit code. */
  async terminate(graceMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    const c = this.child;
    if (!c) return undefined;
    this.expectingExit = true;
    const result = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      c.once('close', (code, signal) => resolve({ code, signal })),
    );
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
    const r = await result;
    clearTimeout(timer);
    await this.exited;
    return r;
  }

  /** Stops for good (no restart after this). */
  async dispose(): Promise<void> {
    this.stopped = true;
    await this.kill9();
  }

  private onLine(line: string): void {
    this.log(line);
    let e: Json;
    try {
      e = JSON.parse(line) as Json;
    } catch {
      this.remember(`non-JSON stdout: ${line}`);
      return;
    }
    if (typeof e.folder === 'string') this.folderId = e.folder;
    switch (e.event) {
      case 'state':
        this.lastState = e;
        this.lastStateAt = Date.now();
        if (e.state === 'error') this.errorStates++;
        this.remember(`state ${String(e.state)}${e.inSync ? ' in sync' : ''}${stateError(e)}`);
        break;
      case 'file': {
        const op = String(e.op);
        const book = e.ok ? this.fileOk : this.fileFailed;
        book.set(op, (book.get(op) ?? 0) + 1);
        if (!e.ok) this.remember(`failed ${op} ${JSON.stringify(e.path)}: ${String(e.error)}`);
        break;
      }
      case 'pass':
        if (e.full === true && e.halted === undefined && typeof e.durationMs === 'number')
          this.lastFullPassStart = Date.now() - e.durationMs;
        this.remember(line.slice(0, 500));
        break;
      case 'conflict':
        this.conflictEvents++;
        this.remember(`conflict ${line}`);
        break;
      default:
        this.remember(line.slice(0, 500));
    }
  }

  private log(line: string): void {
    if (this.logFile) appendFileSync(this.logFile, line.endsWith('\n') ? line : `${line}\n`);
  }

  private remember(text: string): void {
    this.tail.push(`${new Date().toISOString()} ${text.slice(0, 600)}`);
    if (this.tail.length > 40) this.tail.shift();
  }
}

function stateError(e: Json): string {
  const status = e.status as { lastError?: unknown; failedItems?: unknown[]; watcher?: unknown } | undefined;
  const parts: string[] = [];
  if (status?.watcher !== undefined && status.watcher !== 'live') parts.push(` watcher ${String(status.watcher)}`);
  if (typeof status?.lastError === 'string') parts.push(` (${status.lastError})`);
  if (Array.isArray(status?.failedItems) && status.failedItems.length)
    parts.push(` [${status.failedItems.length} failing]`);
  return parts.join('');
}
