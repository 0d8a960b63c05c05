/**
 * Shell-injection canaries: file names that would create a file at an absolute path,
 * `/tmp/ferry-canary-<random token>-<n>`, if any shell ever evaluated them. The path is
 * absolute so the canary shows wherever the shell ran (sshd runs commands in the account's
 * home, not in any directory a test would think of searching). Names hold no "/": printf's
 * octal `\057` makes the slashes.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';

export const CANARY_DIR = '/tmp';

export interface ShellCanaries {
  /** The file-name prefix every canary of this set has in {@link CANARY_DIR}. */
  readonly prefix: string;
  /** Names that each run `touch /tmp/<prefix>-<n>` (n = index) if a shell evaluates them. */
  readonly names: string[];
  /** Canary files of this set that exist: must be empty after the test. */
  found(): string[];
}

/** Each way a name can reach a shell: substitution, backticks, separators, quotes broken out of. */
export function shellCanaries(label = 'canary'): ShellCanaries {
  const prefix = `ferry-${label}-${randomBytes(8).toString('hex')}`;
  const cmd = (n: number) => `touch $(printf '${`${CANARY_DIR}/${prefix}-${n}`.replaceAll('/', '\\057')}')`;
  const forms = [
    (n: number) => `$(${cmd(n)})`,
    (n: number) => `\`${cmd(n)}\``,
    (n: number) => `x; ${cmd(n)}`,
    (n: number) => `x && ${cmd(n)} #`,
    (n: number) => `x | ${cmd(n)}`,
    (n: number) => `'$(${cmd(n)})'`,
    (n: number) => `"$(${cmd(n)})"`,
  ];
  return {
    prefix,
    names: forms.map((form, n) => form(n)),
    found: () => readdirSync(CANARY_DIR).filter((f) => f.startsWith(prefix)),
  };
}
