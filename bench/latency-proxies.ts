/**
 * Stands in for servers behind a network: `count` TCP proxies to one host:port, each holding
 * every chunk `delayMs` in each direction (a round trip of `2 * delayMs`), see
 * test/harness/tcp-proxy.ts. Run as a child of a benchmark whose own thread is blocked in
 * `spawnSync` while Ferry runs:
 *
 *   node bench/latency-proxies.ts HOST PORT COUNT DELAY_MS
 *
 * Prints `{"ports":[...]}` on one line once every proxy listens, and closes them and exits
 * when its stdin ends.
 */
import { startTcpProxy } from '../test/harness/tcp-proxy.ts';

const [host, port, count, delayMs] = process.argv.slice(2);
if (!host || !Number(port) || !Number(count) || delayMs === undefined || !(Number(delayMs) >= 0))
  throw new Error('usage: node bench/latency-proxies.ts HOST PORT COUNT DELAY_MS');
const proxies = await Promise.all(
  Array.from({ length: Number(count) }, () =>
    startTcpProxy({ targetHost: host, targetPort: Number(port), delayMs: Number(delayMs) }),
  ),
);
process.stdout.write(`${JSON.stringify({ ports: proxies.map((p) => p.port) })}\n`);
process.stdin.on('end', () => {
  void Promise.all(proxies.map((p) => p.close())).then(() => process.exit(0));
});
process.stdin.resume();
