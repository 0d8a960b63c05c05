/**
 * A TCP proxy on 127.0.0.1 that tests put between a client and a server to break the
 * network on demand: cut every connection, cut mid-transfer after a byte budget, turn into a
 * black hole (a server that accepts but never answers), or refuse new connections.
 *
 * Each accepted client connection gets its own upstream connection to the target. The proxy
 * forwards bytes both ways with backpressure and counts what it forwarded. With `delayMs` it
 * also stands in for a network with latency: every chunk (and FIN) is held that long in each
 * direction before it is forwarded, in order, so a round trip through it takes twice as long.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  targetHost: string;
  targetPort: number;
  /**
   * One-way latency in ms, applied in each direction: a chunk read from one side is written
   * to the other no sooner than `delayMs` later (checked against `performance.now()`), in the
   * order read; a FIN follows the data before it. A round trip through the proxy takes at
   * least `2 * delayMs`. 0 or undefined: forwarded at once, as without the option. Faults
   * apply when a chunk is forwarded: the black hole drops chunks still in flight, a byte
   * budget counts bytes as they reach the target, a cut loses whatever was in flight.
   */
  delayMs?: number;
  /**
   * Called for every chunk forwarded (not for dropped ones), with the `performance.now()`
   * at which the proxy read it and at which it wrote it on. For tests and measurements.
   */
  onForward?: (e: ForwardEvent) => void;
}

export interface ForwardEvent {
  direction: 'up' | 'down';
  bytes: number;
  readAt: number;
  sentAt: number;
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
  /** Bytes read and held for `delayMs`, not yet forwarded or dropped (0 without a delay). */
  readonly bytesInFlight: number;
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

/** What travels one way: a chunk, the FIN, or the close of the other side; and when it was read. */
interface InFlight {
  what: Buffer | 'end' | 'close';
  readAt: number;
}

/** One direction of a link with a delay: what is in flight, oldest first, and its timer. */
interface Lane {
  queue: InFlight[];
  timer: NodeJS.Timeout | undefined;
}

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  /** Bytes still allowed client→server before the cut; undefined = not armed. */
  budget: number | undefined;
  cut: boolean;
  up: Lane;
  down: Lane;
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
  let bytesInFlight = 0;
  let cuts = 0;
  let refused = 0;
  let closed = false;

  const cut = (link: Link) => {
    if (link.cut) return;
    link.cut = true;
    cuts++;
    links.delete(link);
    for (const lane of [link.up, link.down]) {
      clearTimeout(lane.timer);
      for (const item of lane.queue) if (typeof item.what !== 'string') bytesInFlight -= item.what.length;
      lane.queue.length = 0;
    }
    hardDestroy(link.client);
    hardDestroy(link.upstream);
  };

  const delayMs = options.delayMs ?? 0;
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error(`delayMs needs a number of ms >= 0, got ${delayMs}`);
  const forwarded = (direction: 'up' | 'down', bytes: number, readAt: number) =>
    options.onForward?.({ direction, bytes, readAt, sentAt: performance.now() });

  const forwardUp = (link: Link, chunk: Buffer, readAt: number) => {
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
      else {
        forwarded('up', data.length, readAt);
        upstream.write(data, () => cut(link));
      }
      link.client.pause();
      return;
    }
    if (budget !== undefined) link.budget = budget - data.length;
    bytesUp += data.length;
    forwarded('up', data.length, readAt);
    if (!upstream.write(data)) {
      link.client.pause();
      upstream.once('drain', () => link.cut || link.client.resume());
    }
  };

  const forwardDown = (link: Link, chunk: Buffer, readAt: number) => {
    if (!link.cut && blackhole) bytesDropped += chunk.length;
    if (link.cut || blackhole) return;
    bytesDown += chunk.length;
    forwarded('down', chunk.length, readAt);
    if (!link.client.write(chunk)) {
      link.upstream?.pause();
      link.client.once('drain', () => link.cut || link.upstream?.resume());
    }
  };

  /** Passes a chunk, FIN or close one way: at once without a delay, else after it. */
  const deliver = (link: Link, direction: 'up' | 'down', item: InFlight) => {
    const to = direction === 'up' ? link.upstream : link.client;
    if (item.what === 'close') {
      if (to && !to.destroyed) to.destroy();
    } else if (item.what === 'end') {
      if (!link.cut) to?.end();
    } else (direction === 'up' ? forwardUp : forwardDown)(link, item.what, item.readAt);
  };
  const send = (link: Link, direction: 'up' | 'down', what: InFlight['what']) => {
    const item: InFlight = { what, readAt: performance.now() };
    if (delayMs === 0) return deliver(link, direction, item);
    if (link.cut) return;
    const lane = direction === 'up' ? link.up : link.down;
    lane.queue.push(item);
    if (typeof what !== 'string') bytesInFlight += what.length;
    if (!lane.timer) schedule(link, direction, lane);
  };
  // One timer per direction, for the oldest item in flight. A timer may fire a little early
  // (libuv's clock is coarser than performance.now()): what is not due yet waits for the next.
  const schedule = (link: Link, direction: 'up' | 'down', lane: Lane) => {
    const head = lane.queue[0];
    if (!head) return;
    const wait = Math.max(1, Math.ceil(head.readAt + delayMs - performance.now()));
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      const now = performance.now();
      while (!link.cut && lane.queue.length && lane.queue[0]!.readAt + delayMs <= now) {
        const item = lane.queue.shift()!;
        if (typeof item.what !== 'string') bytesInFlight -= item.what.length;
        deliver(link, direction, item);
      }
      if (!link.cut) schedule(link, direction, lane);
    }, wait);
  };

  // allowHalfOpen on both sides lets a FIN travel through instead of closing the other direction.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', () => {});
    if (paused || closed) {
      refused++;
      hardDestroy(client);
      return;
    }
    const link: Link = {
      client,
      upstream: undefined,
      budget: undefined,
      cut: false,
      up: { queue: [], timer: undefined },
      down: { queue: [], timer: undefined },
    };
    links.add(link);
    client.on('close', () => {
      links.delete(link);
      send(link, 'up', 'close');
    });
    client.on('data', (chunk: Buffer) => send(link, 'up', chunk));
    client.on('end', () => send(link, 'up', 'end'));
    if (blackhole) return; // accepted, never forwarded

    const upstream = connect({ host: options.targetHost, port: options.targetPort, allowHalfOpen: true });
    link.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('data', (chunk: Buffer) => send(link, 'down', chunk));
    upstream.on('end', () => send(link, 'down', 'end'));
    upstream.on('close', () => send(link, 'down', 'close'));
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
    get bytesInFlight() {
      return bytesInFlight;
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
