/**
 * A fully resolved SSH destination: what both transports (ssh2 SFTP and rsync-over-ssh)
 * connect to. Built from a target string plus ~/.ssh/config plus command-line options by
 * main/ssh/resolve-endpoint.ts; by the time one exists, every alias has been expanded.
 */
export type HostKeyPolicy = 'strict' | 'accept-new';

export interface SshEndpoint {
  /** Host name or address to connect to (after HostName expansion). */
  host: string;
  port: number;
  user: string;
  /** What the user typed (alias or host), for messages. */
  displayName: string;
  /** Absolute POSIX directory on the server that Ferry syncs into. */
  remoteRoot: string;
  /** Private key files to try, in order. */
  identityFiles: string[];
  /** Passphrase for encrypted identity files. Never logged. */
  passphrase?: string;
  /** Password authentication. Never logged. */
  password?: string;
  /** ssh-agent socket; defaults to SSH_AUTH_SOCK when unset. `null` disables the agent. */
  agentSocket?: string | null;
  /** known_hosts file checked and (with accept-new) appended to. */
  knownHostsPath: string;
  hostKeyPolicy: HostKeyPolicy;
  /** ProxyJump hops, outermost first, each already resolved. */
  jump?: SshEndpoint[];
}
