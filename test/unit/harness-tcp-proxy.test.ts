import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { startTcpProxy, type ForwardEvent, type TcpProxy } from '../harness/tcp-proxy.ts';

/** An echo server that remembers how many connections and bytes it received. */
interface EchoServer {
  port: number;
  accepted: number;
  received: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

async function startEcho(): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  const echo: EchoServer = {
    port: 0,
    accepted: 0,
    received: 0,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((s) => {
    echo.accepted++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.on('data', (d: Buffer) => {
      echo.received += d.length;
      s.write(d);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  echo.port = addr.port;
  return echo;
}

/** A client socket that collects everything it receives and records how it ended. */
interface TestClient {
  socket: Socket;
  received(): string;
  closed: Promise<void>;
  isClosed(): boolean;
}

async function open(port: number): Promise<TestClient> {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  let isClosed = false;
  socket.on('error', () => {});
  socket.on('data', (d: Buffer) => (data += d.toString()));
  const closed = new Promise<void>((r) =>
    socket.once('close', () => {
      isClosed = true;
      r();
    }),
  );
  await once(socket, 'connect');
  return { socket, received: () => data, closed, isClosed: () => isClosed };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/**
 * A round trip straight to the echo server, started after whatever the test wants to show
 * never arrived: bytes the proxy had forwarded earlier would have reached the echo server
 * first, so once this echo is back they would be counted. The positive signal instead of a
 * sleep. Counts one connection and one byte at the echo server.
 */
async function echoRoundTrip(): Promise<void> {
  const c = await client(echo.port);
  c.socket.write('c');
  await until(() => c.received() === 'c', 'the direct round trip');
  c.socket.destroy();
}

let echo: EchoServer;
let proxy: TcpProxy | undefined;
const clients: Socket[] = [];

before(async () => {
  echo = await startEcho();
});
after(async () => {
  for (const c of clients) c.destroy();
  await echo.close();
});

async function fresh(extra: { delayMs?: number; onForward?: (e: ForwardEvent) => void } = {}): Promise<TcpProxy> {
  if (proxy) await proxy.close();
  proxy = await startTcpProxy({ targetHost: '127.0.0.1', targetPort: echo.port, ...extra });
  return proxy;
}

async function client(port: number): Promise<TestClient> {
  const c = await open(port);
  clients.push(c.socket);
  return c;
}

after(async () => {
  await proxy?.close();
});

test('forwards both ways and counts bytes and connections', async () => {
  const p = await fresh();
  const c = await client(p.port);
  c.socket.write('hello');
  await until(() => c.received() === 'hello', 'echo through proxy');
  assert.equal(p.connections, 1);
  assert.equal(p.bytesUp, 5);
  assert.equal(p.bytesDown, 5);
  c.socket.end();
  await c.closed;
  await until(() => p.connections === 0, 'connection count to drop');
});

test('cutAll destroys every live connection on both sides', async () => {
  const p = await fresh();
  const before = echo.sockets.size;
  const a = await client(p.port);
  const b = await client(p.port);
  a.socket.write('a');
  b.socket.write('b');
  await until(() => a.received() === 'a' && b.received() === 'b', 'both echoes');
  assert.equal(p.connections, 2);
  assert.equal(echo.sockets.size, before + 2);
  p.cutAll();
  await Promise.all([a.closed, b.closed]);
  await until(() => echo.sockets.size === before, 'server side sockets to close');
  assert.equal(p.connections, 0);
  assert.equal(p.cuts, 2);
});

test('cutAfterBytes cuts a connection once n more bytes went client→server', async () => {
  const p = await fresh();
  const receivedBefore = echo.received;
  const c = await client(p.port);
  c.socket.write('abcd');
  await until(() => c.received() === 'abcd', 'first echo');
  p.cutAfterBytes(10);
  c.socket.write('0123456789ABCDEFGHIJ');
  await c.closed;
  assert.equal(p.bytesUp, 14, 'exactly the 10-byte budget was forwarded after arming');
  assert.ok(echo.received - receivedBefore <= 14, 'nothing past the budget reached the server');
  assert.equal(p.cuts, 1);

  // Connections opened after arming are not armed.
  const d = await client(p.port);
  d.socket.write('x'.repeat(50));
  await until(() => d.received().length === 50, 'unarmed connection echoes everything');
  assert.equal(d.isClosed(), false);
});

test('blackhole accepts but never forwards; turning it off restores new connections', async () => {
  const p = await fresh();
  const acceptedBefore = echo.accepted;
  p.setBlackhole(true);
  const receivedBefore = echo.received;
  const c = await client(p.port);
  c.socket.write('ping');
  await until(() => p.bytesDropped >= 4, 'the proxy reads ping and drops it');
  await echoRoundTrip();
  assert.equal(c.received(), '', 'no answer from a black hole');
  assert.equal(c.isClosed(), false, 'the connection stays open');
  assert.equal(echo.accepted, acceptedBefore + 1, 'the target saw no connection but the direct one');
  assert.equal(echo.received, receivedBefore + 1, 'nor any byte of ping');
  assert.equal(p.bytesUp, 0);
  assert.equal(p.connections, 1);

  p.setBlackhole(false);
  const d = await client(p.port);
  d.socket.write('pong');
  await until(() => d.received() === 'pong', 'echo after blackhole off');
  assert.equal(echo.accepted, acceptedBefore + 2);
});

test('blackhole also silences live connections', async () => {
  const p = await fresh();
  const c = await client(p.port);
  c.socket.write('1');
  await until(() => c.received() === '1', 'first echo');
  const receivedBefore = echo.received;
  p.setBlackhole(true);
  c.socket.write('2');
  await until(() => p.bytesDropped >= 1, 'the proxy reads 2 and drops it');
  await echoRoundTrip();
  assert.equal(c.received(), '1');
  assert.equal(echo.received, receivedBefore + 1, 'dropped bytes never reached the server (only the direct one did)');
  p.setBlackhole(false);
});

test('pause refuses new connections while live ones keep working; resume accepts again', async () => {
  const p = await fresh();
  const live = await client(p.port);
  live.socket.write('up');
  await until(() => live.received() === 'up', 'live connection echo');
  const acceptedBefore = echo.accepted;
  p.pause();
  const refused = connect(p.port, '127.0.0.1');
  clients.push(refused);
  refused.on('error', () => {});
  let got = '';
  refused.on('data', (d: Buffer) => (got += d.toString()));
  const refusedClosed = new Promise((r) => refused.once('close', r));
  refused.write('hello?');
  await refusedClosed;
  assert.equal(got, '');
  assert.equal(p.refused, 1);
  assert.equal(echo.accepted, acceptedBefore, 'the target never saw the refused connection');

  live.socket.write('still here');
  await until(() => live.received() === 'upstill here', 'live connection echo while paused');

  p.resume();
  const again = await client(p.port);
  again.socket.write('back');
  await until(() => again.received() === 'back', 'echo after resume');
});

test('close cuts live connections and stops listening', async () => {
  const p = await fresh();
  const c = await client(p.port);
  await p.close();
  await c.closed;
  const s = connect(p.port, '127.0.0.1');
  const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  await p.close(); // idempotent
});

// The only timings asserted are lower bounds the proxy guarantees by construction: it forwards
// nothing before `readAt + delayMs` on the same monotonic clock the test reads. No upper bound.
test('delayMs holds every chunk and the FIN that long each way, in order', async () => {
  const delayMs = 40;
  const events: ForwardEvent[] = [];
  const p = await fresh({ delayMs, onForward: (e) => events.push(e) });
  const c = await client(p.port);
  let firstEchoAt = 0;
  c.socket.once('data', () => (firstEchoAt = performance.now()));
  const endedAt = new Promise<number>((r) => c.socket.once('end', () => r(performance.now())));
  const t0 = performance.now();
  for (const part of 'abcdefgh') {
    c.socket.write(part);
    await new Promise((r) => setImmediate(r)); // let the proxy read the parts one by one
  }
  const t1 = performance.now();
  c.socket.end('z'); // data, then the FIN right behind it
  const ended = await endedAt;

  assert.equal(c.received(), 'abcdefghz', 'every byte arrived, in the order written');
  assert.ok(firstEchoAt - t0 >= 2 * delayMs, `the first echo took a round trip: ${firstEchoAt - t0} ms`);
  assert.ok(ended - t1 >= 2 * delayMs, `the FIN went there and back delayed: ${ended - t1} ms`);
  for (const direction of ['up', 'down'] as const) {
    const mine = events.filter((e) => e.direction === direction);
    assert.equal(
      mine.reduce((n, e) => n + e.bytes, 0),
      9,
      `${direction}: every byte forwarded once`,
    );
    for (const [i, e] of mine.entries()) {
      assert.ok(e.sentAt - e.readAt >= delayMs, `${direction} chunk ${i} held ${e.sentAt - e.readAt} ms`);
      const prev = mine[i - 1];
      if (prev) assert.ok(e.readAt >= prev.readAt && e.sentAt >= prev.sentAt, `${direction} chunk ${i} in order`);
    }
  }
  assert.equal(p.bytesUp, 9);
  assert.equal(p.bytesDown, 9);
  assert.equal(p.bytesInFlight, 0);
});

test('with delayMs, the black hole also drops what is still in flight', async () => {
  // A long delay, so the poll below sees '2' held in the proxy well before it is due.
  const p = await fresh({ delayMs: 1000 });
  const receivedBefore = echo.received;
  const c = await client(p.port);
  c.socket.write('2');
  await until(() => p.bytesInFlight === 1, 'the proxy to hold 2');
  p.setBlackhole(true);
  await until(() => p.bytesDropped === 1, 'the proxy drops 2 when it is due');
  await echoRoundTrip();
  assert.equal(c.received(), '');
  assert.equal(echo.received, receivedBefore + 1, 'only the direct round trip reached the server');
  assert.equal(p.bytesUp, 0);
  assert.equal(p.bytesInFlight, 0);
  p.setBlackhole(false);
});
