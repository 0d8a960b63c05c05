import type { SshEndpoint } from './endpoint.ts';

/** `user@host:/path`, with `[host]:port` style only when the port is not 22. Never includes secrets. */
export function endpointDisplay(e: Pick<SshEndpoint, 'user' | 'host' | 'port' | 'remoteRoot'>): string {
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return e.port === 22 ? `${e.user}@${host}:${e.remoteRoot}` : `ssh://${e.user}@${host}:${e.port}${e.remoteRoot}`;
}
