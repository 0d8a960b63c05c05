/** The SFTP subsystem on a ready ssh2 client, with its own timeout and errors that say why. */
import type { Client as ClientType, SFTPWrapper } from 'ssh2';
import { DEFAULT_READY_TIMEOUT_MS } from './connect-error.ts';

/**
 * Opens the SFTP subsystem on a ready client. A server that never answers the request (its
 * SSH layer alive, its session handling hung) fails after `timeoutMs` instead of hanging.
 */
export function openSftp(client: ClientType, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new Error(
        `The server did not start SFTP within ${Math.round(timeoutMs / 1000)} s: it accepted the SSH login but answers nothing more. Check its load and its sshd logs.`,
      );
      reject(Object.assign(err, { code: 'ETIMEDOUT' }));
      client.end();
    }, timeoutMs);
    client.sftp((err, sftp) => {
      clearTimeout(timer);
      if (err) {
        // A refused channel (OpenSSH's MaxSessions on this connection) is not a server without
        // SFTP: that one answers "Unable to start subsystem" inside an open channel.
        const hint = /Channel open failure/i.test(err.message)
          ? 'It allows no further session on this connection (OpenSSH MaxSessions).'
          : 'Is the SFTP subsystem enabled in its sshd_config?';
        reject(new Error(`The server refused to start SFTP: ${err.message}. ${hint}`, { cause: err }));
      } else {
        resolve(sftp);
      }
    });
  });
}
