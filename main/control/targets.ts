/**
 * A folder's targets by name, for `ferry pause|resume --target` and `ferry why`: a target
 * is named by its remote as given (`web1:/var/www`) or, when no other target of the folder
 * is on the same host, by its host alone (`web1`).
 */

/** The host of `[user@]host:/path` or `ssh://[user@]host[:port]/path` (an IPv6 `[...]` kept whole). */
export function targetHost(remote: string): string {
  const rest = remote.startsWith('ssh://') ? remote.slice('ssh://'.length) : remote;
  return /^(?:[^@:/]*@)?(\[[^\]]*\]|[^:/]*)/.exec(rest)?.[1] || remote;
}

/** Each target's short name: its host when that is unique in `remotes`, else the whole remote. */
export function targetLabels(remotes: readonly string[]): string[] {
  const hosts = remotes.map(targetHost);
  return remotes.map((r, i) => (hosts.filter((h) => h === hosts[i]).length === 1 ? (hosts[i] as string) : r));
}

/** The remote `selector` names among `remotes` (exactly, or by its short name); undefined when none. */
export function pickTarget(remotes: readonly string[], selector: string): string | undefined {
  if (remotes.includes(selector)) return selector;
  const labels = targetLabels(remotes);
  const i = labels.indexOf(selector);
  return i >= 0 ? remotes[i] : undefined;
}
