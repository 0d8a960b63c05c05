/**
 * Runs one command on the server over an exec channel of the folder's open SSH connection
 * (for commands after sync, engine/after-sync.ts). The command line is the caller's: it must
 * never hold file names (those go on standard input). The channel ends after `timeoutMs`:
 * Ferry asks the server to send the process TERM and closes the channel (a command that
 * ignores both may outlive the timeout on the server; Ferry no longer waits for it).
 */
import type { Client } from 'ssh2';

export interface ExecResult {
  /** Exit status; null when ended by a signal or the timeout. */
  code: number | null;
  signal?: string;
  timedOut: boolean;
  /** The end of standard output and standard error together (at most {@link OUTPUT_TAIL_BYTES}). */
  output: Buffer;
}

export interface ExecOptions {
  stdin: Buffer;
  timeoutMs: number;
}

export type RemoteExec = (command: string, opts: ExecOptions) => Promise<ExecResult>;

export const OUTPUT_TAIL_BYTES = 16 * 1024;

/** Keeps the last {@link OUTPUT_TAIL_BYTES} of what is appended. */
export class OutputTail {
  #buf = Buffer.alloc(0);
  add(chunk: Buffer): void {
    const joined = Buffer.concat([this.#buf, chunk]);
    this.#buf = joined.length > OUTPUT_TAIL_BYTES ? joined.subarray(joined.length - OUTPUT_TAIL_BYTES) : joined;
  }
  get value(): Buffer {
    return this.#buf;
  }
}

export function sshExec(client: Client): RemoteExec {
  return (command, opts) =>
    new Promise((resolve, reject) => {
      client.exec(command, (err, channel) => {
        if (err) return reject(err);
        const tail = new OutputTail();
        let timedOut = false;
        let code: number | null = null;
        let signal: string | undefined;
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve({ code: timedOut ? null : code, ...(signal ? { signal } : {}), timedOut, output: tail.value });
        };
        // A shell waiting for its foreground command handles TERM only once that command
        // ends, and sshd keeps the channel open while it runs: do not wait for either.
        const timer = setTimeout(() => {
          timedOut = true;
          channel.signal('TERM');
          channel.close();
          finish();
        }, opts.timeoutMs);
        channel.on('data', (d: Buffer) => tail.add(d));
        channel.stderr.on('data', (d: Buffer) => tail.add(d));
        channel.on('exit', (c: number | null, sig?: string) => {
          code = c;
          if (sig) signal = sig;
        });
        channel.on('close', finish);
        channel.on('error', () => undefined);
        channel.end(opts.stdin);
      });
    });
}
