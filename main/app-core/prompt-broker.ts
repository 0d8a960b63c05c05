/**
 * Login prompts only a person can answer (a one-time code), asked in the window: a
 * connection's answerer (connect.ts PromptAnswerer) becomes a pending request with an id,
 * announced to the window (`loginPrompt`); the window answers it (`answerLoginPrompt`) or
 * cancels it, and the request ends (`loginPromptClosed`).
 *
 * Invariants:
 * - Only a pending id is answered, once, with exactly one string per prompt; anything else
 *   (an unknown, late or already answered id, a wrong count) is refused with a sentence.
 * - The answers are handed to the login and dropped: never logged, stored or emitted.
 * - A request whose login no longer needs it (failed, timed out, the folder stopped) is
 *   withdrawn, so the window closes its dialog.
 * - Cancel fails the login with a PromptUnansweredError "cancelled by you": the engine then
 *   waits for the user (Retry now) instead of asking again within seconds.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { PromptUnansweredError, type KeyboardInteractiveRequest, type PromptAnswerer } from '../ssh/connect.ts';
import type { LoginPrompt, LoginPromptClosed } from '../ipc/contract.ts';

export interface PromptBrokerEvents {
  loginPrompt: [LoginPrompt];
  loginPromptClosed: [LoginPromptClosed];
}

interface Pending {
  prompt: LoginPrompt;
  host: string;
  port: number;
  resolve(answers: string[]): void;
  reject(err: Error): void;
}

/** At most this many requests wait at once; more are refused (a runaway server or loop). */
export const MAX_PENDING_PROMPTS = 20;

export class PromptBroker extends EventEmitter<PromptBrokerEvents> {
  readonly #pending = new Map<string, Pending>();

  /** The requests waiting for an answer, oldest first (a window that opens late shows them). */
  pending(): LoginPrompt[] {
    return [...this.#pending.values()].map((p) => p.prompt);
  }

  /** An answerer for the connections of one folder (its local path), or of a connection test. */
  answerer(folder?: string): PromptAnswerer {
    return (request, { signal }) => this.#ask(request, signal, folder);
  }

  #ask(request: KeyboardInteractiveRequest, signal: AbortSignal, folder: string | undefined): Promise<string[]> {
    const server = serverOf(request);
    if (signal.aborted) return Promise.reject(withdrawn(request, server));
    if (this.#pending.size >= MAX_PENDING_PROMPTS)
      return Promise.reject(
        new PromptUnansweredError(
          request.host,
          request.port,
          `Logging in to ${server} needs an answer, but ${MAX_PENDING_PROMPTS} other logins are already waiting for one. Answer or cancel those first.`,
        ),
      );
    const requestId = randomUUID();
    const prompt: LoginPrompt = {
      requestId,
      server,
      ...(folder !== undefined ? { folder } : {}),
      name: request.name,
      instructions: request.instructions,
      prompts: request.prompts.map((p) => ({ prompt: p.prompt, echo: p.echo })),
    };
    return new Promise<string[]>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#pending.delete(requestId)) return;
        reject(withdrawn(request, server));
        this.emit('loginPromptClosed', { requestId, reason: 'withdrawn' });
      };
      const settle = <A extends unknown[]>(f: (...a: A) => void) => {
        return (...a: A) => {
          signal.removeEventListener('abort', onAbort);
          f(...a);
        };
      };
      this.#pending.set(requestId, {
        prompt,
        host: request.host,
        port: request.port,
        resolve: settle(resolve),
        reject: settle(reject),
      });
      signal.addEventListener('abort', onAbort, { once: true });
      this.emit('loginPrompt', prompt);
    });
  }

  /**
   * The window's answer to `requestId`: one string per prompt, or null for Cancel. Throws
   * (a sentence for the window) when the id is not pending or the count is wrong.
   */
  answer(requestId: string, answers: string[] | null): void {
    const p = this.#pending.get(requestId);
    if (!p)
      throw new Error(
        'Ferry is no longer waiting for that answer: the login was answered, cancelled or given up already.',
      );
    if (answers !== null && answers.length !== p.prompt.prompts.length)
      throw new Error(
        `The login to ${p.prompt.server} asks ${p.prompt.prompts.length} question(s); ${answers.length} answer(s) were given.`,
      );
    this.#pending.delete(requestId);
    if (answers === null) {
      const asked = p.prompt.prompts.map((q) => JSON.stringify(q.prompt.trim())).join(', ');
      p.reject(
        new PromptUnansweredError(
          p.host,
          p.port,
          `Logging in to ${p.prompt.server} was cancelled by you (the server asks ${asked}). Use Retry now to be asked again.`,
        ),
      );
    } else p.resolve(answers);
    this.emit('loginPromptClosed', { requestId, reason: answers === null ? 'cancelled' : 'answered' });
  }
}

function serverOf(r: KeyboardInteractiveRequest): string {
  const host = r.host.includes(':') ? `[${r.host}]` : r.host;
  return `${r.user}@${host}${r.port === 22 ? '' : `:${r.port}`}`;
}

function withdrawn(r: KeyboardInteractiveRequest, server: string): PromptUnansweredError {
  return new PromptUnansweredError(
    r.host,
    r.port,
    `Logging in to ${server} was given up before the prompt was answered.`,
  );
}
