/**
 * rsync's error lines about server entries, phrased as the SFTP transport phrases its own
 * (`open /srv/site/locked/new.txt failed on the server: Permission denied`), so a person
 * reads the same sentence whichever transport sent the file, and never rsync's temp names
 * (`mkstemp "/srv/site/locked/.new.txt.WZqg5z" failed: Permission denied (13)`).
 */

/** rsync's operation (the C function it names) -> the SFTP request that does the same. */
const OPS: [RegExp, string][] = [
  [/\b(mkstemp|open)\b/, 'open'],
  [/\b(make_backup|keep_backup|unlink|rmdir|delete_file)\b/, 'remove'],
  [/\bmkdir\b/, 'mkdir'],
  [/\brename\b/, 'rename'],
  [/\bsymlink\b/, 'symlink'],
  [/\b(chmod|chown|lchown|utimes|utimensat|set_file_attrs|set_modtime)\b/, 'setstat'],
  [/\bwrite\b/, 'write'],
];

/** `<what> failed[: "<path>" -> "<path>"| on "<path>"]: <reason> (<errno>)` */
const FAILED = /^(?:rsync: )?(?:\[\w+\] )?(.+?) failed(?:.*"[^"]*")?: ([^:"]+?)(?: \(\d+\))?$/;

/** `rename "<temp>" -> "<path>": <reason> (<errno>)`: landing a received file failed. */
const RENAME = /^(?:rsync: )?(?:\[\w+\] )?(rename|copy) "[^"]*" -> "[^"]*": ([^:"]+?) \(\d+\)$/;

/**
 * The sentence for an rsync message about `item` (a relative path): the operation, the
 * server's full path and the system's reason. A message naming an entry below `item` (a
 * file inside a directory being removed: `unlink(dir/file)`) names that entry. Lines of
 * other shapes are returned as rsync wrote them.
 */
export function phraseServerError(line: string, item: string, serverPath: (rel: string) => string): string {
  const m = FAILED.exec(line) ?? RENAME.exec(line);
  if (!m) return line;
  const what = m[1] as string;
  const reason = m[2] as string;
  const op = OPS.find(([re]) => re.test(what))?.[1];
  if (op === undefined) return line;
  // `unlink(a/b)`, `rmdir(a)`: rsync names deletions by their relative path.
  const named = /\(([^()]*)\)$/.exec(what)?.[1];
  const rel = named !== undefined && (named === item || named.startsWith(`${item}/`)) ? named : item;
  return `${op} ${serverPath(rel)} failed on the server: ${reason}`;
}
