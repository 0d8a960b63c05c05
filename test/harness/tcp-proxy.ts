/**
 * A TCP proxy on 127.0.0.1 that tests put between a client and a server to break the
 * network on demand: cut every connection, cut mid-transfer after a byte budget, turn into a
 * black hole (a server that accepts but never answers), or refuse new connections.
 *
 * Each accepted client connection gets its own upstream connection to the target. The proxy
 * forwards bytes both ways with backpressure and counts what it forwarded.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  targetHost: string;
  targetPort: number;
}

export interface TcpProxy {
  readonly host: '127.0.0.1';
  /** Port the proxy listens on; point the client here instead of at the target. */
  readonly port: number;
  /** Client connections currently open through the proxy (black-holed ones included). */
  readonly connections: number;
  /** Bytes forwarded client→server / server→client since start. Dropped bytes are not counted. */
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Bytes read from either side and dropped because of the black hole. */
  readonly bytesDropped: number;
  /** Live connections the proxy has cut (by `cutAll`, `cutAfterBytes` or `close`). */
  readonly cuts: number;
  /** Connections refused because the proxy was paused. */
  readonly refused: number;
  /** Destroy every live connection on both sides at once, with a TCP reset to the client. */
  cutAll(): void;
  /**
   * Arm every currently live connection to be cut once `n` more bytes have been forwarded
   * client→server through it: exactly `n` more bytes reach the target, then both sides are
   * destroyed. Connections opened later are not armed. Re-arming replaces the budget.
   */
  cutAfterBytes(n: number): void;
  /**
   * While on, new connections are accepted but never connected to the target, and bytes of
   * live connections are dropped in both directions (not forwarded, not counted). Turning it
   * off lets live connections forward again, but whatever was dropped stays lost: a stream
   * protocol like SSH on such a connection is broken and should be cut.
   */
  setBlackhole(on: boolean): void;
  /** Refuse new connections (reset right after accept) until `resume()`; live ones keep going. */
  pause(): void;
  resume(): void;
  /** Cut everything and stop listening (idempotent). */
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  /** Bytes still allowed client→server before the cut; undefined = not armed. */
  budget: number | undefined;
  cut: boolean;
}

/** Destroys a socket abruptly: a TCP reset when possible, so the peer sees ECONNRESET. */
function hardDestroy(socket: Socket | undefined): void {
  if (!socket || socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const links = new Set<Link>();
  let blackhole = false;
  let paused = false;
  let bytesUp = 0;
  let bytesDown = 0;
  let bytesDropped = 0;
  let cuts = 0;
  let refused = 0;
  let closed = false;

  const cut = (link: Link) => {
    if (link.cut) return;
    link.cut = true;
    cuts++;
    links.delete(link);
    hardDestroy(link.client);
    hardDestroy(link.upstream);
  };

  const forwardUp = (link: Link, chunk: Buffer) => {
    const upstream = link.upstream;
    if (!link.cut && blackhole) bytesDropped += chunk.length;
    if (link.cut || blackhole || !upstream) return;
    let data = chunk;
    const budget = link.budget;
    if (budget !== undefined && data.length >= budget) {
      data = chunk.subarray(0, budget);
      link.budget = 0;
      bytesUp += data.length;
      // Let the last allowed bytes reach the kernel, then cut; drop everything after.
      if (data.length === 0) cut(link);
      else upstream.write(data, () => cut(link));
      link.client.pause();
      return;
    }
    if (budget !== undefined) link.budget = budget - data.length;
    bytesUp += data.length;
    if (!upstream.write(data)) {
      link.client.pause();
      upstream.once('drain', () => link.cut || link.client.resume());
    }
  };

  const forwardDown = (link: Link, chunk: Buffer) => {
    if (!link.cut && blackhole) bytesDropped += chunk.length;
    if (link.cut || blackhole) return;
    bytesDown += chunk.length;
    if (!link.client.write(chunk)) {
      link.upstream?.pause();
      link.client.once('drain', () => link.cut || link.upstream?.resume());
    }
  };

  // allowHalfOpen on both sides lets a FIN travel through instead of closing the other direction.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => {});
    if (paused || closed) {
      refused++;
      hardDestroy(client);
      return;
    }
    const link: Link = { client, upstream: undefined, budget: undefined, cut: false };
    links.add(link);
    client.on('close', () => {
      links.delete(link);
      if (link.upstream && !link.upstream.destroyed) link.upstream.destroy();
    });
    client.on('data', (chunk: Buffer) => forwardUp(link, chunk));
    client.on('end', () => link.upstream?.end());
    if (blackhole) return; // accepted, never forwarded

    const upstream = connect({ host: options.targetHost, port: options.targetPort, allowHalfOpen: true });
    link.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('data', (chunk: Buffer) => forwardDown(link, chunk));
    upstream.on('end', () => client.end());
    upstream.on('close', () => {
      if (!client.destroyed) client.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('TCP proxy has no listening address');

  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return links.size;
    },
    get bytesUp() {
      return bytesUp;
    },
    get bytesDown() {
      return bytesDown;
    },
    get bytesDropped() {
      return bytesDropped;
    },
    get cuts() {
      return cuts;
    },
    get refused() {
      return refused;
    },
    cutAll() {
      for (const link of links) cut(link);
    },
    cutAfterBytes(n: number) {
      if (!Number.isInteger(n) || n < 0) throw new Error(`cutAfterBytes needs a byte count >= 0, got ${n}`);
      for (const link of links) {
        link.budget = n;
        if (n === 0) cut(link);
      }
    },
    setBlackhole(on: boolean) {
      blackhole = on;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const link of links) cut(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
