/**
 * An in-memory server for millisecond tests of the folder loop's rules (reconnect, halt,
 * crash recovery, backoff, retries). A map-backed RemoteTransport with scriptable faults:
 * refuse a connection, cut it, refuse single paths, and run a hook before any call (to edit
 * the server behind Ferry's back). It never replaces the real-sshd tests: it knows nothing
 * of SFTP, rsync, permissions or atomic renames.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TEMP_PREFIX } from '../../main/core/temp-name.ts';
import { ancestorsOf, baseName, isWithin, matchesExpected, parentOf, type Entry } from '../../main/core/tree.ts';
import type { OpenTransports, TransportOpener } from '../../main/transport/open-transport.ts';
import { conflictCopyName } from '../../main/core/conflict-name.ts';
import type {
  AttributesItem,
  ItemResult,
  KeptServerCopy,
  RemoveItem,
  RemoteScan,
  RemoteTransport,
  TransferErrorCode,
  UploadItem,
  UploadResult,
} from '../../main/transport/transport.ts';

export type MemoryCall = 'scan' | 'upload' | 'mkdir' | 'symlink' | 'rename' | 'remove' | 'setAttributes';

export class MemoryServer {
  /** The server's tree; the root "" is always a directory. */
  readonly entries = new Map<string, Entry>([['', { kind: 'dir', mode: 0o755 }]]);
  /** File contents by path. */
  readonly contents = new Map<string, Buffer>();
  /** Every call made, in order, with the paths it named. */
  readonly calls: { call: MemoryCall; paths: string[] }[] = [];
  /** How many connections were opened. */
  connects = 0;
  /** While set, opening a connection fails with this error. */
  refuseWith: Error | undefined;
  /** Paths whose operations fail with this code and message (the item, not the transport). */
  readonly refusePaths = new Map<string, { code: TransferErrorCode; message: string }>();
  /** Runs before every call, before the server acts: edit the tree behind Ferry's back here. */
  beforeCall: ((call: MemoryCall, paths: string[]) => void) | undefined;
  /**
   * Runs after a mkdir or an upload has acted, before it answers: cut the connection here to
   * lose an outcome the server already carried out.
   */
  afterCall: ((call: 'mkdir' | 'upload', paths: string[]) => void) | undefined;
  #current: { cut(err: Error): void } | undefined;

  /** The opener a FolderSync takes instead of the real one. */
  readonly open: TransportOpener = async () => {
    if (this.refuseWith) throw this.refuseWith;
    this.connects++;
    let cut!: (err: Error) => void;
    const closed = new Promise<Error | undefined>((resolve) => (cut = resolve));
    const transport = new MemoryTransport(this);
    this.#current = {
      cut: (err) => {
        transport.dead = err;
        cut(err);
      },
    };
    const opened: OpenTransports = {
      main: transport,
      closed,
      close: async () => {
        transport.dead ??= new Error('closed');
      },
    };
    return opened;
  };

  /** Drops the current connection as a network failure would: calls in flight and after it throw. */
  cut(message = 'the connection was reset'): void {
    this.#current?.cut(new Error(message));
  }

  writeFile(path: string, content: string, mode = 0o644, mtimeMs = Date.now()): void {
    const data = Buffer.from(content);
    this.contents.set(path, data);
    this.entries.set(path, { kind: 'file', size: data.length, mtimeMs, mode, hash: sha256(data) });
  }

  mkdir(path: string, mode = 0o755): void {
    this.entries.set(path, { kind: 'dir', mode });
  }

  /** Files and their contents, for comparing with a local tree. */
  files(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [p, e] of this.entries) if (e.kind === 'file') out.set(p, this.contents.get(p)?.toString() ?? '');
    return out;
  }

  deleteSubtree(root: string): void {
    for (const p of [...this.entries.keys()]) if (isWithin(p, root)) this.delete(p);
  }

  delete(path: string): void {
    this.entries.delete(path);
    this.contents.delete(path);
  }
}

class MemoryTransport implements RemoteTransport {
  readonly kind = 'sftp';
  readonly canRename = true;
  dead: Error | undefined;
  readonly #server: MemoryServer;

  constructor(server: MemoryServer) {
    this.#server = server;
  }

  #enter(call: MemoryCall, paths: string[]): void {
    if (this.dead) throw this.dead;
    this.#server.calls.push({ call, paths });
    this.#server.beforeCall?.(call, paths);
    if (this.dead) throw this.dead;
  }

  #refusal(path: string): ItemResult | undefined {
    const r = this.#server.refusePaths.get(path);
    return r ? { path, error: r.message, errorCode: r.code } : undefined;
  }

  #parentMissing(path: string): ItemResult | undefined {
    return this.#server.entries.get(parentOf(path))?.kind === 'dir'
      ? undefined
      : { path, error: `no such directory: ${parentOf(path)}`, errorCode: 'not-found' };
  }

  async scan(scopes: readonly string[]): Promise<RemoteScan> {
    this.#enter('scan', [...scopes]);
    const entries = new Map<string, Entry>();
    const blocked: string[] = [];
    const tempFiles: string[] = [];
    for (const scope of scopes) {
      const nonDir = ancestorsOf(scope).find((a) => {
        const e = this.#server.entries.get(a);
        return e !== undefined && e.kind !== 'dir';
      });
      if (nonDir !== undefined) {
        blocked.push(nonDir);
        continue;
      }
      for (const [p, e] of this.#server.entries) {
        if (!isWithin(p, scope)) continue;
        if (baseName(p).startsWith(TEMP_PREFIX)) tempFiles.push(p);
        else entries.set(p, e);
      }
    }
    return { entries, tempFiles, ...(blocked.length ? { blocked } : {}) };
  }

  async upload(
    items: readonly UploadItem[],
    _onProgress?: unknown,
    onItem?: (index: number, result: UploadResult) => void,
  ): Promise<UploadResult[]> {
    this.#enter(
      'upload',
      items.map((i) => i.path),
    );
    const out: UploadResult[] = [];
    for (const it of items) out.push(await this.#uploadOne(it));
    this.#server.afterCall?.(
      'upload',
      items.map((i) => i.path),
    );
    if (this.dead) throw this.dead;
    out.forEach((result, i) => onItem?.(i, result));
    return out;
  }

  async #uploadOne(it: UploadItem): Promise<UploadResult> {
    const refused = this.#refusal(it.path) ?? this.#parentMissing(it.path);
    if (refused) return refused;
    let data: Buffer;
    try {
      data = await readFile(it.localPath);
    } catch {
      return { path: it.path, localVanished: true };
    }
    if (this.dead) throw this.dead;
    // As the real transports: a file that is no longer what the scan saw is not landed.
    const changed = data.length !== it.expected.size;
    if (changed && it.landIfChanged !== true) return { path: it.path, localChanged: true };
    const server = this.#server;
    // The expected-state rule of RemoteTransport: never destroy what no longer matches.
    const found = server.entries.get(it.path);
    let keptServerCopy: KeptServerCopy | undefined;
    if (it.conflictCopyPath === undefined && it.replaces !== undefined && found !== undefined) {
      if (it.replaces === null) return { path: it.path, serverChanged: true };
      if (!sameServerEntry(found, it.replaces)) keptServerCopy = this.#keep(it.path, found);
    }
    if (it.conflictCopyPath !== undefined && server.entries.has(it.path))
      moveTree(server, it.path, it.conflictCopyPath);
    server.deleteSubtree(it.path);
    const uploaded = { ...it.expected, size: data.length, hash: sha256(data) };
    server.entries.set(it.path, uploaded);
    server.contents.set(it.path, data);
    return {
      path: it.path,
      uploaded,
      ...(keptServerCopy ? { keptServerCopy } : {}),
      ...(it.conflictCopyPath !== undefined ? { conflictCopyPath: it.conflictCopyPath } : {}),
      ...(changed ? { changedDuringUpload: true } : {}),
    };
  }

  async mkdir(items: readonly { path: string; mode: number }[]): Promise<ItemResult[]> {
    this.#enter(
      'mkdir',
      items.map((i) => i.path),
    );
    const results: ItemResult[] = items.map(({ path, mode }) => {
      const refused = this.#refusal(path) ?? this.#parentMissing(path);
      if (refused) return refused;
      const e = this.#server.entries.get(path);
      if (e && e.kind !== 'dir') return { path, error: `${path} exists and is not a directory`, errorCode: 'exists' };
      this.#server.entries.set(path, { kind: 'dir', mode });
      return { path };
    });
    this.#server.afterCall?.(
      'mkdir',
      items.map((i) => i.path),
    );
    if (this.dead) throw this.dead;
    return results;
  }

  async symlink(items: readonly { path: string; target: string }[]): Promise<ItemResult[]> {
    this.#enter(
      'symlink',
      items.map((i) => i.path),
    );
    return items.map(({ path, target }) => {
      const refused = this.#refusal(path) ?? this.#parentMissing(path);
      if (refused) return refused;
      this.#server.deleteSubtree(path);
      this.#server.entries.set(path, { kind: 'symlink', target });
      return { path };
    });
  }

  async rename(items: readonly { from: string; to: string }[]): Promise<ItemResult[]> {
    this.#enter(
      'rename',
      items.flatMap((i) => [i.from, i.to]),
    );
    return items.map(({ from, to }) => {
      const refused = this.#refusal(from) ?? this.#refusal(to) ?? this.#parentMissing(to);
      if (refused) return { ...refused, path: to };
      if (!this.#server.entries.has(from)) return { path: to, error: `no such file: ${from}`, errorCode: 'not-found' };
      moveTree(this.#server, from, to);
      return { path: to };
    });
  }

  async remove(items: readonly RemoveItem[]): Promise<ItemResult[]> {
    this.#enter(
      'remove',
      items.map((i) => i.path),
    );
    return items.map(({ path, expected }) => {
      const refused = this.#refusal(path);
      if (refused) return refused;
      const found = this.#server.entries.get(path);
      // Coarser than SFTP's entry-by-entry settling: any difference keeps the whole subtree.
      const differs =
        expected !== undefined &&
        [...this.#server.entries].some(([p, e]) => isWithin(p, path) && !sameServerEntry(e, expected.get(p)));
      if (found && differs) return { path, keptServerCopy: this.#keep(path, found) };
      this.#server.deleteSubtree(path);
      return { path };
    });
  }

  /** Moves `path` to a free conflict copy name next to it. */
  #keep(path: string, found: Entry): KeptServerCopy {
    const copy = conflictCopyName(path, new Date(), (p) => this.#server.entries.has(p));
    moveTree(this.#server, path, copy);
    return { path, copy, found };
  }

  async setAttributes(items: readonly AttributesItem[]): Promise<ItemResult[]> {
    this.#enter(
      'setAttributes',
      items.map((i) => i.path),
    );
    return items.map(({ path, mode, mtimeMs, expected }) => {
      const refused = this.#refusal(path);
      if (refused) return refused;
      const e = this.#server.entries.get(path);
      if (!e || !matchesExpected(e, expected)) return { path, serverChanged: true };
      if (!e || e.kind === 'symlink') return { path, error: `no such file: ${path}`, errorCode: 'not-found' };
      this.#server.entries.set(path, {
        ...e,
        ...(mode !== undefined ? { mode } : {}),
        ...(mtimeMs !== undefined && e.kind === 'file' ? { mtimeMs } : {}),
      });
      return { path };
    });
  }

  async close(): Promise<void> {
    this.dead ??= new Error('closed');
  }
}

function moveTree(server: MemoryServer, from: string, to: string): void {
  server.deleteSubtree(to);
  for (const [p, e] of [...server.entries]) {
    if (!isWithin(p, from)) continue;
    const moved = to + p.slice(from.length);
    server.entries.set(moved, e);
    const data = server.contents.get(p);
    if (data) server.contents.set(moved, data);
    server.delete(p);
  }
}

function sameServerEntry(a: Entry, b: Entry | undefined): boolean {
  if (!b || a.kind !== b.kind) return false;
  if (a.kind === 'file' && b.kind === 'file') return a.size === b.size && a.mtimeMs === b.mtimeMs && a.mode === b.mode;
  if (a.kind === 'symlink' && b.kind === 'symlink') return a.target === b.target;
  return true;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
