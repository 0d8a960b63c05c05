/**
 * Host aliases offered in the add form: the names on `Host` lines of the user's ssh config
 * (and of files it includes, one level of glob-free or globbed paths below ~/.ssh), without
 * patterns (`*`, `?`, `!`). Reading is all it does: nothing is resolved or run here; the
 * chosen alias goes through resolveEndpoint like any host.
 */
import { globSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { defaultSshConfigPath, expandTilde } from '../ssh/ssh-config.ts';

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Aliases in `text`, in order of appearance, following `Include` up to `depth` levels. */
export function aliasesInConfig(text: string, homeDir: string, depth = 4): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    const host = /^host(?:\s*=\s*|\s+)(.+)$/i.exec(line);
    if (host) {
      for (const word of (host[1] ?? '').split(/\s+/)) {
        const name = word.replace(/^"|"$/g, '');
        if (name !== '' && !/[*?!]/.test(name)) out.push(name);
      }
      continue;
    }
    const include = /^include(?:\s*=\s*|\s+)(.+)$/i.exec(line);
    if (include && depth > 0) {
      for (const word of (include[1] ?? '').split(/\s+/)) {
        let pattern = expandTilde(word.replace(/^"|"$/g, ''), homeDir);
        if (!isAbsolute(pattern)) pattern = join(homeDir, '.ssh', pattern);
        const files = /[*?[]/.test(pattern) ? globSync(pattern).sort() : [pattern];
        for (const f of files) out.push(...aliasesInConfig(readText(f), homeDir, depth - 1));
      }
    }
  }
  return [...new Set(out)];
}

export function listSshAliases(configPath?: string, homeDir: string = homedir()): string[] {
  return aliasesInConfig(readText(configPath ?? defaultSshConfigPath(homeDir)), homeDir);
}
