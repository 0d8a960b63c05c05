/**
 * Which local paths Ferry leaves alone, with .gitignore semantics (via the `ignore` package).
 *
 * Order of precedence: the default pack first, then the caller's patterns, then the text of
 * `.ferryignore`; later rules win, so a user can re-include a default with `!.DS_Store`.
 * Ferry's own temporary names (`.ferry-tmp-*`) are ignored always, whatever the patterns
 * say and even with the default pack disabled: syncing them would upload half-written files.
 *
 * `.ferryignore` itself is NOT ignored: it syncs like any other file, so the server copy
 * documents what was left out (and a second machine pushing the same folder gets the rules).
 * Dotfiles in general (`.env`, `.htaccess`, `.gitignore`) sync unless a pattern names them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore from 'ignore';
import { ASIDE_PREFIX, TEMP_PREFIX, TRASH_DIR } from '../core/temp-name.ts';

export const FERRYIGNORE_NAME = '.ferryignore';

/**
 * Editor, OS and tool droppings that are never meant to be shipped. Each is a scratch or
 * metadata file that its program recreates at will; none is content a person wrote.
 * `desktop.ini` is included: Windows Explorer writes it for folder icons and views, and it
 * means nothing on a server (re-include with `!desktop.ini` if a folder really needs it).
 */
export const DEFAULT_IGNORES: readonly string[] = [
  // vim: swap files (".name.swp" and the .swx/.swo fallbacks), its "can I write here" probe, backups.
  '.*.swp',
  '.*.swx',
  '.*.swo',
  '4913',
  '*~',
  // emacs: lock links and auto-save files ("#" must be escaped: a leading "#" is a comment).
  '.#*',
  '\\#*#',
  // JetBrains safe-write temporaries.
  '*___jb_tmp___',
  '*___jb_old___',
  // Microsoft Office lock files.
  '~$*',
  // OS metadata.
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  // GNOME/GIO atomic-save temporaries.
  '.goutputstream-*',
  // Ferry's own temporaries (also enforced regardless of patterns, see isFerryTemp).
  `${TEMP_PREFIX}*`,
];

export interface IgnoreMatcher {
  /**
   * True when `relPath` (relative POSIX, '' = root) is to be left alone. Directories must be
   * passed with `isDir` so dir-only patterns (`build/`) apply. A path below an ignored
   * directory is ignored too (gitignore: a file cannot be re-included when its parent
   * directory is excluded). The root is never ignored.
   */
  ignores(relPath: string, isDir: boolean): boolean;
  /**
   * Why `relPath` is ignored: the rule that decides (the last one to match it or the directory
   * it is ignored with, as `git check-ignore -v` reports) and where that rule came from.
   * Undefined when the path is not ignored.
   */
  explain(relPath: string, isDir: boolean): IgnoreExplanation | undefined;
}

/** The rule that ignores a path, and where it was written. */
export interface IgnoreExplanation {
  /** The pattern as written (`build/`, `*.log`). */
  rule: string;
  /** `.ferryignore:3`, `--ignore`, `the default pack`, or Ferry's own temporary names. */
  origin: string;
}

export const ORIGIN_DEFAULTS = 'the default pack';
export const ORIGIN_PATTERNS = '--ignore';
export const ORIGIN_TEMP = "Ferry's own temporary files (always ignored)";

export interface IgnoreMatcherOptions {
  patterns?: readonly string[];
  ferryignoreText?: string;
  /** Include {@link DEFAULT_IGNORES}. Default true. */
  useDefaults?: boolean;
}

/** Ferry's temp files, the server entries it moved aside to check them, and the trash: never synced. */
function isFerryTemp(relPath: string): boolean {
  if (relPath === TRASH_DIR || relPath.startsWith(`${TRASH_DIR}/`)) return true;
  return segmentStartsWith(relPath, TEMP_PREFIX) || segmentStartsWith(relPath, ASIDE_PREFIX);
}

/** Whether a segment of `relPath` begins with `prefix` (without splitting: this runs for every path of every scan). */
function segmentStartsWith(relPath: string, prefix: string): boolean {
  return relPath.startsWith(prefix) || relPath.includes(`/${prefix}`);
}

export function createIgnoreMatcher(options: IgnoreMatcherOptions = {}): IgnoreMatcher {
  const ig = ignore();
  // Each rule carries its origin as its `mark`, which the `ignore` package hands back with the
  // rule that decided (explain). `.ferryignore` is added line by line for the line numbers;
  // the package splits text on the same line breaks, so the rules are the same.
  const marked = (patterns: readonly string[], mark: (i: number) => string) =>
    patterns.map((pattern, i) => ({ pattern, mark: mark(i) }));
  if (options.useDefaults ?? true) ig.add(marked(DEFAULT_IGNORES, () => ORIGIN_DEFAULTS));
  if (options.patterns) ig.add(marked(options.patterns, () => ORIGIN_PATTERNS));
  if (options.ferryignoreText)
    ig.add(marked(options.ferryignoreText.split(/\r?\n/), (i) => `${FERRYIGNORE_NAME}:${i + 1}`));
  return {
    ignores(relPath: string, isDir: boolean): boolean {
      if (relPath === '') return false;
      if (isFerryTemp(relPath)) return true;
      return ig.ignores(isDir ? `${relPath}/` : relPath);
    },
    explain(relPath: string, isDir: boolean): IgnoreExplanation | undefined {
      if (relPath === '') return undefined;
      if (isFerryTemp(relPath)) return { rule: `${TEMP_PREFIX}*`, origin: ORIGIN_TEMP };
      const r = ig.test(isDir ? `${relPath}/` : relPath);
      if (!r.ignored || !r.rule) return undefined;
      return { rule: r.rule.pattern, origin: r.rule.mark ?? ORIGIN_PATTERNS };
    },
  };
}

/** Reads `<root>/.ferryignore`; a missing file is the empty rule set. */
export async function loadFerryignore(root: string): Promise<string> {
  const file = join(root, FERRYIGNORE_NAME);
  try {
    const text = await readFile(file, 'utf8');
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new Error(
      `Could not read the ignore rules in ${file}: ${(err as Error).message}. Fix its permissions or remove it.`,
      { cause: err },
    );
  }
}
