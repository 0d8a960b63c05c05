/**
 * The client side of the control socket, for `ferry status/pause/resume/monitor/why`: finds
 * the sockets of the running Ferry processes under a state root, checks each is private to
 * this user, and asks them. A socket nobody answers on (a killed process) is skipped.
 */
import { connect, type Socket } from 'node:net';
import {
  lineSplitter,
  parseLine,
  PROTOCOL_VERSION,
  responseSchema,
  type ControlRequestBody,
  type ControlResponse,
  type WireStatus,
} from './protocol.ts';
import { checkPrivate, listSockets } from './socket-dir.ts';

type Reply = Extract<ControlResponse, { ok: true }>;

export class ControlClient {
  readonly path: string;
  readonly #socket: Socket;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  readonly #events = new Map<number, (s: WireStatus) => void>();
  #closedError: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(path: string, socket: Socket) {
    this.path = path;
    this.#socket = socket;
    this.closed = new Promise((res) => socket.once('close', () => res()));
    socket.on(
      'data',
      lineSplitter(
        (line) => {
          let msg: ControlResponse;
          try {
            msg = parseLine(responseSchema, line, `A reply on ${path}`);
          } catch (err) {
            this.#fail(err as Error);
            return;
          }
          if ('event' in msg) {
            this.#events.get(msg.id)?.(msg.status);
            return;
          }
          const p = this.#pending.get(msg.id);
          this.#pending.delete(msg.id);
          if (msg.ok) p?.resolve(msg);
          else p?.reject(new Error(msg.error));
        },
        () => this.#fail(new Error(`A reply on ${path} was too long.`)),
      ),
    );
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error(`The Ferry process behind ${path} closed the connection.`)));
  }

  /** Connects after checking the socket; throws UnsafeControlPath when it is not private. */
  static async connect(path: string): Promise<ControlClient> {
    await checkPrivate(path, 'socket');
    const socket = connect(path);
    await new Promise<void>((res, rej) => {
      socket.once('connect', res);
      socket.once('error', rej);
    });
    return new ControlClient(path, socket);
  }

  #fail(err: Error): void {
    this.#closedError ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#socket.destroy();
  }

  request<B extends ControlRequestBody>(body: B): Promise<Extract<Reply, { op: B['op'] }>> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (r: Reply) => void, reject });
      this.#socket.write(`${JSON.stringify({ v: PROTOCOL_VERSION, id, ...body })}\n`);
    });
  }

  /** Starts monitoring: resolves with the current statuses; `onStatus` gets every change after. */
  async monitor(onStatus: (s: WireStatus) => void): Promise<WireStatus[]> {
    const id = this.#nextId;
    this.#events.set(id, onStatus);
    const r = await this.request({ op: 'monitor' });
    return r.folders;
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroy();
  }
}

/**
 * Connects to every running Ferry under `stateRoot`. Sockets that refuse the connection (a
 * process that died without cleaning up) are skipped; unsafe ones throw (see socket-dir.ts).
 */
export async function connectAll(stateRoot: string): Promise<ControlClient[]> {
  const clients: ControlClient[] = [];
  for (const path of await listSockets(stateRoot)) {
    try {
      clients.push(await ControlClient.connect(path));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ENOENT') continue;
      for (const c of clients) c.close();
      throw err;
    }
  }
  return clients;
}
