import { after, afterEach, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectConfig } from 'ssh2';
import { connectClient, startFaultSftpServer, type FaultSftpServer, type SshClient } from './fault-sftp-server.ts';

export interface FaultServerForFile {
  /** The server's root directory, a fresh temp directory (reading it before the first test throws). */
  readonly root: string;
  /** The in-process fault server; its `faults` are reset after every test. */
  readonly server: FaultSftpServer;
  /** An authenticated client of `srv` (this file's server by default), ended after the file. */
  connect(srv?: FaultSftpServer, extra?: Partial<ConnectConfig>): Promise<SshClient>;
}

/**
 * One in-process fault SFTP server for a test file: registers the hooks that create its root
 * (filled by `populate`), start it, clear its faults after each test, and end every client,
 * stop the server and remove the root after the file. Call at the top level of a test file.
 */
export function faultServerForFile(prefix: string, populate?: (root: string) => void): FaultServerForFile {
  let root: string | undefined;
  let server: FaultSftpServer | undefined;
  const clients: SshClient[] = [];
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('The fault server is not started yet: use it inside a test.');
    return v;
  };
  before(async () => {
    root = mkdtempSync(join(tmpdir(), prefix));
    populate?.(root);
    server = await startFaultSftpServer({ root });
  });
  afterEach(() => {
    if (server) server.faults = {};
  });
  after(async () => {
    for (const c of clients) c.end();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return {
    get root() {
      return started(root);
    },
    get server() {
      return started(server);
    },
    connect: (srv, extra = {}) => connectClient(srv ?? started(server), clients, extra),
  };
}
