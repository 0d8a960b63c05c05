/**
 * Where a folder's state lives: `<stateRoot>/<id>/` with `index.json` and `conflicts.jsonl`.
 * The id is derived from the local root and the remote target, so the same pair always
 * finds its ancestor again, and two targets of one folder never share one.
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function defaultStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FERRY_STATE_DIR) return resolve(env.FERRY_STATE_DIR);
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'ferry');
}

export function folderId(localRoot: string, remoteDisplay: string): string {
  return createHash('sha256')
    .update(`${resolve(localRoot)}\0${remoteDisplay}`)
    .digest('hex')
    .slice(0, 16);
}

export function folderStateDir(stateRoot: string, id: string): string {
  return join(stateRoot, 'folders', id);
}
