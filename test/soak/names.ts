/**
 * File names for the soak driver: mostly ordinary, often hostile. Every name is a valid
 * POSIX name (non-empty, no "/" or NUL, not "." or "..", at most 255 bytes in UTF-8) that
 * Ferry's default ignore rules do not leave out, and never looks like one of Ferry's own
 * temp or conflict-copy names, so every name the driver creates must reach the server.
 */
import { createIgnoreMatcher } from '../../main/engine/ignore.ts';
import type { Rng } from './rng.ts';

const NAME_MAX = 255;
const defaults = createIgnoreMatcher({});

/**
 * Where the shell-injection names would create their files: an absolute path, so a shell in
 * any working directory (sshd runs commands in the account's home) would leave them here.
 */
export const CANARY_DIR = '/tmp';

/** Prefix of the files the shell-injection names would create if any shell ever ran them. */
export function pwnedPrefix(token: string): string {
  return `ferry-soak-pwned-${token}`;
}

/**
 * Names that would run `touch /tmp/<pwnedPrefix>-N` if a shell ever evaluated them. They
 * hold no "/" (printf's octal \057 makes the slash), so each is one file name.
 */
function injections(token: string, n: number): string[] {
  const file = `${CANARY_DIR}/${pwnedPrefix(token)}-${n}`.replaceAll('/', '\\057');
  return [
    `$(touch $(printf '${file}'))`,
    `\`touch $(printf '${file}')\``,
    `x; touch $(printf '${file}')`,
    `x && touch $(printf '${file}') #`,
    `x | touch $(printf '${file}')`,
    `'$(touch $(printf '${file}'))'`,
    `"$(touch $(printf '${file}'))"`,
  ];
}

const FRAGMENTS = [
  ' ',
  '  two  spaces ',
  "it's",
  '"quoted"',
  '\n',
  'line\nbreak',
  '\t',
  '\r',
  'back\\slash',
  '\\n',
  '*?[a-z]',
  '{a,b}',
  '#hash',
  '%20',
  '&amp;',
  '<>|',
  ';',
  '!bang',
  '$HOME',
  '${IFS}',
  '~tilde',
  'ünïcødé',
  '日本語',
  'Ελληνικά',
  'emoji-🚀-😀',
  'e\u0301', // NFD: "e" + combining acute
  '\u00e9', // NFC é
  '\u202eevil', // right-to-left override
  '\u00a0nbsp',
  ' -> arrow ',
  '...',
];

const LEADING = ['-', '--', '-rf ', '--delete ', ' ', '...', '..x', '-e ', '=', '+'];

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Cuts `s` to at most `max` UTF-8 bytes without splitting a character. */
function cutToBytes(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

function valid(name: string, isDir: boolean): boolean {
  if (name === '' || name === '.' || name === '..') return false;
  if (name.includes('/') || name.includes('\0')) return false;
  if (byteLength(name) > NAME_MAX) return false;
  if (name.startsWith('.ferry-tmp-') || name.includes('.ferry-conflict-')) return false;
  return !defaults.ignores(name, isDir);
}

export class NameMaker {
  private readonly rng: Rng;
  private readonly token: string;
  private counter = 0;

  constructor(rng: Rng, token: string) {
    this.rng = rng;
    this.token = token;
  }

  /** A fresh name; `hostileRate` is the share of hostile ones. */
  next(isDir: boolean, hostileRate = 0.35): string {
    for (;;) {
      const n = ++this.counter;
      const name = this.rng.chance(hostileRate) ? this.hostile(n, isDir) : this.plain(n, isDir);
      if (valid(name, isDir)) return name;
    }
  }

  private plain(n: number, isDir: boolean): string {
    if (isDir) return this.rng.pick([`dir${n}`, `Folder ${n}`, `sub_${n}`, `d${n}`]);
    return this.rng.pick([
      `f${n}.txt`,
      `data-${n}.bin`,
      `Notes ${n}.md`,
      `img_${n}.jpg`,
      `${n}`,
      `README-${n}`,
      `.env${n}`,
    ]);
  }

  private hostile(n: number, isDir: boolean): string {
    const r = this.rng;
    const kind = r.weighted({ fragments: 6, injection: 2, long: 2, leading: 2 });
    const ext = isDir ? '' : r.pick(['', '.txt', '.tar.gz', '.sh', '']);
    switch (kind) {
      case 'injection':
        return `${r.pick(injections(this.token, n))}${ext}`;
      case 'long': {
        const unit = r.pick(['x', 'é', '日', 'ab cd ', '🚀', 'q\'"\\']);
        const target = r.int(180, NAME_MAX);
        const head = `${n}-`;
        return cutToBytes(head + unit.repeat(Math.ceil(target / byteLength(unit))), target - byteLength(ext)) + ext;
      }
      case 'leading':
        return `${r.pick(LEADING)}${n}${ext}`;
      case 'fragments': {
        const parts: string[] = [];
        const count = r.int(1, 3);
        for (let i = 0; i < count; i++) parts.push(r.pick(FRAGMENTS));
        parts.splice(r.int(0, parts.length), 0, String(n));
        return `${parts.join('')}${ext}`;
      }
    }
  }
}
