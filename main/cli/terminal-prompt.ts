/**
 * `ferry sync` on a terminal answers login prompts that only a person can (a one-time code)
 * the way ssh does: the server's title and instructions, then each prompt, the answer read
 * from the terminal with echo off when the server asks for that (`echo: false`).
 *
 * Invariants:
 * - One round at a time: targets connecting at once queue their prompts instead of reading
 *   the same keystrokes.
 * - The answer is never written anywhere: with echo off nothing of it goes to the output (the
 *   terminal's own echo is turned off through raw mode), and it is not kept after the round.
 * - Ctrl-C while typing cancels the login (PromptUnansweredError "cancelled by you") and
 *   stops Ferry as Ctrl-C always does; Ctrl-D on an empty answer cancels the login only.
 * - When the login no longer needs the answer (it failed, timed out, the folder stops), the
 *   question is withdrawn and the terminal restored.
 */
import { PromptUnansweredError, type KeyboardInteractiveRequest, type PromptAnswerer } from '../ssh/connect.ts';

/** What the answerer reads from and writes to; process.stdin / process.stderr in `ferry sync`. */
export interface TerminalStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: NodeJS.WritableStream;
  /** Ctrl-C while typing (default: SIGINT to this process, which stops Ferry). */
  onInterrupt?: () => void;
}

/** True when `ferry sync` can ask a person: stdin and stderr are both a terminal. */
export function canAskOnTerminal(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = ['\u007f', '\b'];

export function terminalAnswerer(io: TerminalStreams): PromptAnswerer {
  let queue: Promise<unknown> = Promise.resolve();
  return (request, { signal }) => {
    const turn = queue.then(() => askRound(io, request, signal));
    queue = turn.catch(() => undefined);
    return turn;
  };
}

async function askRound(
  io: TerminalStreams,
  request: KeyboardInteractiveRequest,
  signal: AbortSignal,
): Promise<string[]> {
  const server = `${request.user}@${request.host}${request.port === 22 ? '' : `:${request.port}`}`;
  const cancelled = (why: string) =>
    new PromptUnansweredError(request.host, request.port, `Logging in to ${server} was ${why}.`);
  if (signal.aborted) throw cancelled('given up before the prompt was answered');
  const header = [request.name, request.instructions].map((s) => s.trim()).filter(Boolean);
  if (header.length) io.output.write(`${header.join('\n')}\n`);
  const answers: string[] = [];
  const reader = new LineReader(io);
  try {
    for (const p of request.prompts) {
      io.output.write(`(${server}) ${p.prompt}`);
      const line = await reader.read(p.echo, signal);
      if (line === 'interrupted') {
        (io.onInterrupt ?? (() => process.kill(process.pid, 'SIGINT')))();
        throw cancelled('cancelled by you');
      }
      if (line === 'ended') throw cancelled('cancelled by you (end of input)');
      if (line === 'withdrawn') throw cancelled('given up before the prompt was answered');
      answers.push(line.text);
    }
  } finally {
    reader.close();
  }
  return answers;
}

type ReadResult = { text: string } | 'interrupted' | 'ended' | 'withdrawn';

/** Reads lines from the input, keeping what was typed ahead for the next prompt of the round. */
class LineReader {
  readonly #io: TerminalStreams;
  #buffer = '';
  #raw = false;

  constructor(io: TerminalStreams) {
    this.#io = io;
  }

  read(echo: boolean, signal: AbortSignal): Promise<ReadResult> {
    const { input, output } = this.#io;
    // A terminal echoes what is typed unless it is in raw mode; raw mode also delivers Ctrl-C
    // and backspace to us, so the line is edited here.
    this.#setRaw(!echo && input.isTTY === true && typeof input.setRawMode === 'function');
    return new Promise((resolve) => {
      let text = '';
      const done = (result: ReadResult) => {
        input.removeListener('data', onData);
        input.removeListener('end', onEnd);
        signal.removeEventListener('abort', onAbort);
        input.pause();
        // An echoed answer's Enter already moved the terminal to the next line.
        if (!(echo && typeof result === 'object')) output.write('\n');
        resolve(result);
      };
      const take = (chunk: string): boolean => {
        for (let i = 0; i < chunk.length; i++) {
          const c = chunk[i] as string;
          if (c === '\r' || c === '\n') {
            // "\r\n" is one line end.
            this.#buffer = chunk.slice(c === '\r' && chunk[i + 1] === '\n' ? i + 2 : i + 1);
            done({ text });
            return true;
          }
          if (c === CTRL_C) return (done('interrupted'), true);
          if (c === CTRL_D && text === '') return (done('ended'), true);
          if (BACKSPACE.includes(c)) text = text.slice(0, -1);
          else if (c >= ' ' || c === '\t') text += c;
        }
        return false;
      };
      const onData = (data: Buffer | string) => void take(String(data));
      const onEnd = () => done(text === '' ? 'ended' : { text });
      const onAbort = () => done('withdrawn');
      const pending = this.#buffer;
      this.#buffer = '';
      if (take(pending)) return;
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      input.on('data', onData);
      input.once('end', onEnd);
      input.resume();
    });
  }

  #setRaw(raw: boolean): void {
    if (raw === this.#raw) return;
    this.#io.input.setRawMode?.(raw);
    this.#raw = raw;
  }

  close(): void {
    this.#setRaw(false);
    this.#buffer = '';
  }
}
