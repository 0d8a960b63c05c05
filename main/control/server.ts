/**
 * The control socket of a running Ferry (`ferry sync`, `ferry daemon`, the app): answers
 * `ferry status`, `pause`, `resume`, `why` and streams statuses to `ferry monitor`. It only
 * reads the folders' state and calls their pause/resume; the host says which folders run.
 */
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import type { FolderSync } from '../engine/folder-loop.ts';
import type { FolderStatus } from '../engine/status.ts';
import { lineSplitter, parseLine, requestSchema, type ControlRequest, type ControlResponse } from './protocol.ts';
import { checkPrivate, prepareSocketPath } from './socket-dir.ts';
import { pickTarget } from './targets.ts';
import { explainPath } from './why.ts';
import { targetsOf } from '../engine/folder-config.ts';

export interface ControlHost {
  /** The folders running now (a daemon's set changes on reload). */
  syncs(): readonly FolderSync[];
  /** How to pause a folder; default `sync.pause()` (the app also saves the paused flag). */
  pause?(sync: FolderSync): unknown;
  resume?(sync: FolderSync): unknown;
  /** How to pause one target (its remote); default `sync.pause(target)`. */
  pauseTarget?(sync: FolderSync, target: string): unknown;
  resumeTarget?(sync: FolderSync, target: string): unknown;
}

/** The folders `selector` names: an id, an id prefix of 4 or more characters, or a local path; none: all. */
export function selectFolders(syncs: readonly FolderSync[], selector: string | undefined): FolderSync[] {
  if (selector === undefined) return [...syncs];
  const byId = syncs.filter((s) => s.config.id === selector);
  if (byId.length) return byId;
  const abs = resolve(selector);
  const byPath = syncs.filter((s) => s.config.localRoot === abs);
  if (byPath.length) return byPath;
  return selector.length >= 4 ? syncs.filter((s) => s.config.id.startsWith(selector)) : [];
}

export class ControlServer {
  readonly path: string;
  readonly #server: Server;
  readonly #host: ControlHost;
  readonly #monitors = new Map<Socket, number>();

  private constructor(path: string, server: Server, host: ControlHost) {
    this.path = path;
    this.#server = server;
    this.#host = host;
  }

  /**
   * Listens on a new socket in `<stateRoot>/control/`. Throws UnsafeControlPath (with the
   * reason) when that directory is not private to this user.
   */
  static async listen(stateRoot: string, host: ControlHost): Promise<ControlServer> {
    const path = await prepareSocketPath(stateRoot);
    const server = createServer();
    const control = new ControlServer(path, server, host);
    server.on('connection', (socket) => control.#serve(socket));
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(path, () => {
        server.off('error', rej);
        res();
      });
    });
    // The directory is 0700 already; the socket itself is made private too, then checked.
    try {
      await chmod(path, 0o600);
      await checkPrivate(path, 'socket');
    } catch (err) {
      await control.close();
      throw err;
    }
    return control;
  }

  /** Sends a status change to every `ferry monitor`. */
  publish(status: FolderStatus): void {
    for (const [socket, id] of this.#monitors) send(socket, { id, event: 'status', status });
  }

  async close(): Promise<void> {
    for (const socket of this.#monitors.keys()) socket.destroy();
    this.#monitors.clear();
    await new Promise<void>((res) => this.#server.close(() => res()));
    await rm(this.path, { force: true });
  }

  #serve(socket: Socket): void {
    socket.on('error', () => this.#monitors.delete(socket));
    socket.on('close', () => this.#monitors.delete(socket));
    socket.on(
      'data',
      lineSplitter(
        (line) => {
          let req: ControlRequest;
          try {
            req = parseLine(requestSchema, line, 'The request');
          } catch (err) {
            const id = (() => {
              try {
                const n = (JSON.parse(line) as { id?: unknown }).id;
                return Number.isInteger(n) ? (n as number) : 0;
              } catch {
                return 0;
              }
            })();
            send(socket, { id, ok: false, error: (err as Error).message });
            return;
          }
          this.#handle(socket, req).catch((err: unknown) =>
            send(socket, { id: req.id, ok: false, error: (err as Error).message }),
          );
        },
        () => socket.destroy(),
      ),
    );
  }

  async #handle(socket: Socket, req: ControlRequest): Promise<void> {
    const syncs = this.#host.syncs();
    switch (req.op) {
      case 'status':
        send(socket, { id: req.id, ok: true, op: 'status', pid: process.pid, folders: syncs.map((s) => s.status()) });
        return;
      case 'monitor':
        this.#monitors.set(socket, req.id);
        send(socket, { id: req.id, ok: true, op: 'monitor', pid: process.pid, folders: syncs.map((s) => s.status()) });
        return;
      case 'pause':
      case 'resume': {
        const chosen = selectFolders(syncs, req.folder);
        if (req.folder !== undefined && chosen.length === 0) {
          send(socket, { id: req.id, ok: true, op: req.op, folders: [] });
          return;
        }
        if (req.target !== undefined) {
          await this.#pauseTarget(socket, req.id, req.op, chosen, req.target, req.folder !== undefined);
          return;
        }
        for (const s of chosen) {
          if (req.op === 'pause') await (this.#host.pause ? this.#host.pause(s) : s.pause());
          else await (this.#host.resume ? this.#host.resume(s) : s.resume());
        }
        send(socket, { id: req.id, ok: true, op: req.op, folders: chosen.map((s) => s.config.id) });
        return;
      }
      case 'why': {
        const folders = syncs.map((s) => {
          const status = s.status();
          const lanes = status.targets ?? [];
          const dirs = targetsOf(s.config).map((t) => t.stateDir);
          return {
            id: s.config.id,
            localRoot: s.config.localRoot,
            remote: status.remote,
            stateDir: s.config.stateDir,
            ignore: s.config.ignore,
            status,
            // Lanes and state directories come in the same order (folder-loop.ts).
            ...(lanes.length > 1
              ? { targets: lanes.map((t, i) => ({ remote: t.remote, stateDir: dirs[i] as string, status: t })) }
              : {}),
          };
        });
        const answer = await explainPath(req.path, folders, 'running');
        send(socket, { id: req.id, ok: true, op: 'why', ...(answer.verdict !== 'outside' ? { answer } : {}) });
        return;
      }
    }
  }

  /**
   * Pauses or resumes the target `selector` names in each of `chosen`. A folder named by the
   * request that has no such target is an error (naming its targets); with every folder
   * chosen, folders without it are left alone.
   */
  async #pauseTarget(
    socket: Socket,
    id: number,
    op: 'pause' | 'resume',
    chosen: FolderSync[],
    selector: string,
    named: boolean,
  ): Promise<void> {
    const picked = chosen.map((s) => [s, pickTarget(s.targets, selector)] as const);
    const missing = picked.find(([, t]) => t === undefined);
    if (named && missing)
      throw new Error(
        `${missing[0].config.localRoot} has no target ${selector}; its targets are ${missing[0].targets.join(', ')}.`,
      );
    const found = picked.filter((p): p is readonly [FolderSync, string] => p[1] !== undefined);
    for (const [s, t] of found) {
      if (op === 'pause') await (this.#host.pauseTarget ? this.#host.pauseTarget(s, t) : s.pause(t));
      else await (this.#host.resumeTarget ? this.#host.resumeTarget(s, t) : s.resume(t));
    }
    send(socket, { id, ok: true, op, folders: found.map(([s]) => s.config.id), targets: found.map(([, t]) => t) });
  }
}

/** A response as the server builds it: statuses are engine FolderStatus objects (a WireStatus each). */
type Outgoing =
  | Exclude<ControlResponse, { folders: unknown } | { event: 'status' }>
  | { id: number; ok: true; op: 'status' | 'monitor'; pid: number; folders: FolderStatus[] }
  | { id: number; ok: true; op: 'pause' | 'resume'; folders: string[]; targets?: string[] }
  | { id: number; event: 'status'; status: FolderStatus };

function send(socket: Socket, msg: Outgoing): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(msg)}\n`);
}
