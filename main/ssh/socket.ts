/** The TCP side of a connection: our own socket (TCP_NODELAY, writes coalesced per tick), or a forward through a jump host. */
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Client as ClientType } from 'ssh2';
import type { SshEndpoint } from './endpoint.ts';
import { SshConnectError, where, type SshConnectErrorKind } from './connect-error.ts';

export function tcpSocket(ep: SshEndpoint): Duplex {
  const sock = netConnect({ host: ep.host, port: ep.port });
  // ssh2 never sets TCP_NODELAY; without it small SFTP requests wait on Nagle + delayed ACK.
  // Node applies it to the socket before connect(2), also when a DNS lookup comes first.
  sock.setNoDelay(true);
  coalesceWritesPerTick(sock);
  return sock;
}

/**
 * ssh2 writes every packet with its own socket.write: with TCP_NODELAY that is one syscall
 * and one TCP segment per SFTP request. Corking for the rest of the current tick sends all
 * packets queued in one go (pipelined requests are mostly issued in the same tick) with one
 * writev, without delaying anything past the tick.
 */
function coalesceWritesPerTick(sock: Socket): void {
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
  let corked = false;
  (sock as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
    if (!corked && !sock.destroyed) {
      corked = true;
      sock.cork();
      process.nextTick(() => {
        corked = false;
        sock.uncork();
      });
    }
    return write(...args);
  };
}

export function forwardThrough(jump: ClientType, jumpEp: SshEndpoint, ep: SshEndpoint): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, ep.host, ep.port, (err, stream) => {
      if (err) {
        const kind: SshConnectErrorKind = /refused/i.test(err.message) ? 'refused' : 'other';
        reject(
          new SshConnectError(
            kind,
            ep.host,
            ep.port,
            `Jump host ${jumpEp.displayName} could not open a connection to ${where(ep)}: ${err.message}. ` +
              `Check the host name and port, and that the jump host allows TCP forwarding.`,
            { cause: err },
          ),
        );
      } else {
        resolve(stream);
      }
    });
  });
}
