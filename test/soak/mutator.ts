/**
 * The soak's user: random operations on one local folder, the kind a person and their tools
 * do (create, edit, append, truncate, rename, move between directories, delete, re-create,
 * change modes and times, symlinks, atomic saves, type changes), with hostile names among
 * them. The folder is kept below a size and entry budget so a long run stays bounded.
 *
 * The driver is the only writer of its folder and runs one operation at a time, so every
 * operation sees the tree as the previous one left it. It reads the tree afresh from disk
 * for each choice instead of keeping a model that could drift from it.
 */
import type { RecentEdits } from './recent-edits.ts';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  appendFileSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { NameMaker } from './names.ts';
import type { Rng } from './rng.ts';

export const OPERATIONS = [
  'create',
  'edit',
  'append',
  'truncate',
  'rename',
  'move',
  'delete',
  'recreate',
  'mkdir',
  'rename-dir',
  'move-dir',
  'delete-dir',
  'replace-kind',
  'chmod',
  'touch',
  'symlink',
  'atomic-save',
  'big-file',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface MutatorOptions {
  root: string;
  rng: Rng;
  /** Token in the shell-injection names (see names.ts pwnedPrefix). */
  token: string;
  /** Entry budget (files, dirs and links); above it the driver mostly deletes. */
  maxEntries: number;
  /** Byte budget of all file contents together. */
  maxBytes: number;
  /** Largest "big" file (chaos asks for these to cut connections mid-transfer). */
  bigFileMax: number;
  /** Shared with the folder's server driver (recent-edits.ts). */
  recent?: RecentEdits;
}

interface Listing {
  files: { rel: string; size: number }[];
  dirs: string[];
  links: string[];
  bytes: number;
}

const FILE_MODES = [0o644, 0o600, 0o640, 0o755, 0o700, 0o444, 0o664];
const DIR_MODES = [0o755, 0o700, 0o750, 0o775];

export class Mutator {
  readonly root: string;
  readonly counts = new Map<Operation, number>();
  /** Operations that threw (a bug in the driver or a full local disk), by message. */
  readonly failures: string[] = [];
  private readonly opts: MutatorOptions;
  private readonly rng: Rng;
  private readonly names: NameMaker;

  constructor(opts: MutatorOptions) {
    this.opts = opts;
    this.root = opts.root;
    this.rng = opts.rng;
    this.names = new NameMaker(opts.rng, opts.token);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** A starting tree: a few directories and small files. */
  seed(files: number): void {
    mkdirSync(join(this.root, 'docs', 'drafts'), { recursive: true });
    mkdirSync(join(this.root, 'src'), { recursive: true });
    for (let i = 0; i < files; i++) this.run('create');
  }

  /** Runs one random operation, chosen with the budgets in mind. */
  step(): Operation {
    const l = this.list();
    const full =
      l.files.length + l.dirs.length + l.links.length >= this.opts.maxEntries || l.bytes >= this.opts.maxBytes;
    const op: Operation = full
      ? this.rng.weighted<Operation>({
          delete: 6,
          'delete-dir': 2,
          truncate: 2,
          rename: 1,
          move: 1,
          chmod: 1,
          touch: 1,
        } as Record<Operation, number>)
      : this.rng.weighted<Operation>({
          create: 20,
          edit: 12,
          append: 8,
          truncate: 4,
          rename: 6,
          move: 5,
          delete: 7,
          recreate: 4,
          mkdir: 6,
          'rename-dir': 3,
          'move-dir': 2,
          'delete-dir': 2,
          'replace-kind': 2,
          chmod: 3,
          touch: 3,
          symlink: 3,
          'atomic-save': 4,
          'big-file': 1,
        });
    this.run(op, l);
    return op;
  }

  /** Runs `op` (falling back to `create` when there is nothing to apply it to). */
  run(op: Operation, listing?: Listing): void {
    const l = listing ?? this.list();
    let done: Operation;
    try {
      done = this.apply(op, l);
    } catch (err) {
      this.failures.push(`${op}: ${(err as Error).message}`);
      return;
    }
    this.counts.set(done, (this.counts.get(done) ?? 0) + 1);
  }

  private apply(op: Operation, l: Listing): Operation {
    const r = this.rng;
    const abs = (rel: string) => join(this.root, rel);
    // Directories new entries may go into: not too deep, so paths stay well below PATH_MAX.
    const roomy = l.dirs.filter((d) => d.split('/').length < 8 && Buffer.byteLength(d) < 1500);
    const anyDir = () => (roomy.length && r.chance(0.8) ? r.pick(roomy) : '');
    const under = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
    const fresh = (dir: string, isDir: boolean) => {
      for (;;) {
        const rel = under(dir, this.names.next(isDir));
        if (!exists(abs(rel))) return rel;
      }
    };
    const file = () => (l.files.length ? r.pick(l.files) : undefined);
    switch (op) {
      case 'create': {
        writeFileSync(abs(fresh(anyDir(), false)), this.content());
        return op;
      }
      case 'big-file': {
        writeFileSync(abs(fresh(anyDir(), false)), r.bytes(r.int(this.opts.bigFileMax >> 1, this.opts.bigFileMax)));
        return op;
      }
      case 'edit': {
        const f = file();
        if (!f) return this.apply('create', l);
        const wanted = Math.min(r.chance(0.3) ? f.size : Math.max(0, f.size + r.int(-512, 512)), 1 << 20);
        const size = this.opts.recent?.sizeFor('local', f.rel, wanted) ?? wanted;
        writeFileSync(abs(f.rel), r.bytes(size));
        this.opts.recent?.note('local', f.rel, size);
        return op;
      }
      case 'append': {
        const f = file();
        if (!f) return this.apply('create', l);
        appendFileSync(abs(f.rel), r.bytes(r.int(1, 4096)));
        return op;
      }
      case 'truncate': {
        const f = file();
        if (!f) return this.apply('create', l);
        const wanted = r.chance(0.3) ? 0 : r.int(0, f.size);
        const size = this.opts.recent?.sizeFor('local', f.rel, wanted) ?? wanted;
        truncateSync(abs(f.rel), size);
        this.opts.recent?.note('local', f.rel, size);
        return op;
      }
      case 'rename': {
        const f = file() ?? (l.links.length ? { rel: r.pick(l.links), size: 0 } : undefined);
        if (!f) return this.apply('create', l);
        renameSync(abs(f.rel), abs(fresh(parent(f.rel), false)));
        return op;
      }
      case 'move': {
        const f = file();
        if (!f) return this.apply('create', l);
        const dest = anyDir();
        if (dest === parent(f.rel)) return this.apply('rename', l);
        const keep = under(dest, base(f.rel));
        renameSync(abs(f.rel), abs(r.chance(0.5) && !exists(abs(keep)) ? keep : fresh(dest, false)));
        return op;
      }
      case 'delete': {
        const victims = [...l.files.map((f) => f.rel), ...l.links];
        if (!victims.length) return this.apply('create', l);
        rmSync(abs(r.pick(victims)));
        return op;
      }
      case 'recreate': {
        const f = file();
        if (!f) return this.apply('create', l);
        rmSync(abs(f.rel));
        writeFileSync(abs(f.rel), this.content());
        return op;
      }
      case 'mkdir': {
        let rel = fresh(anyDir(), true);
        mkdirSync(abs(rel), { mode: r.pick(DIR_MODES) });
        for (let depth = r.int(0, 3); depth > 0; depth--) {
          rel = fresh(rel, true);
          mkdirSync(abs(rel));
        }
        if (r.chance(0.7)) writeFileSync(abs(fresh(rel, false)), this.content());
        return op;
      }
      case 'rename-dir': {
        if (!l.dirs.length) return this.apply('mkdir', l);
        const d = r.pick(l.dirs);
        renameSync(abs(d), abs(fresh(parent(d), true)));
        return op;
      }
      case 'move-dir': {
        if (l.dirs.length < 2) return this.apply('mkdir', l);
        // Only directories whose subtree is short enough to move deeper without nearing PATH_MAX.
        const all = [...l.files.map((f) => f.rel), ...l.dirs, ...l.links];
        const movable = l.dirs.filter((d) =>
          all.every((p) => !p.startsWith(`${d}/`) || Buffer.byteLength(p) - Buffer.byteLength(d) < 1200),
        );
        if (!movable.length) return this.apply('rename-dir', l);
        const d = r.pick(movable);
        const candidates = ['', ...roomy].filter((t) => t !== d && !t.startsWith(`${d}/`) && t !== parent(d));
        if (!candidates.length) return this.apply('rename-dir', l);
        renameSync(abs(d), abs(fresh(r.pick(candidates), true)));
        return op;
      }
      case 'delete-dir': {
        if (!l.dirs.length) return this.apply('delete', l);
        // Leaves first: deleting a big top-level directory would empty the folder too often.
        const deepest = [...l.dirs]
          .sort((a, b) => b.split('/').length - a.split('/').length)
          .slice(0, Math.max(1, Math.ceil(l.dirs.length / 2)));
        rmSync(abs(r.pick(deepest)), { recursive: true });
        return op;
      }
      case 'replace-kind': {
        if (r.chance(0.5)) {
          const f = file();
          if (!f) return this.apply('mkdir', l);
          rmSync(abs(f.rel));
          mkdirSync(abs(f.rel));
          writeFileSync(abs(under(f.rel, this.names.next(false))), this.content());
        } else {
          const leaves = l.dirs.filter((d) => !l.dirs.some((o) => o.startsWith(`${d}/`)));
          if (!leaves.length) return this.apply('mkdir', l);
          const d = r.pick(leaves);
          rmSync(abs(d), { recursive: true });
          if (r.chance(0.5)) writeFileSync(abs(d), this.content());
          else symlinkSync(this.linkTarget(), abs(d));
        }
        return op;
      }
      case 'chmod': {
        if (r.chance(0.7) || !l.dirs.length) {
          const f = file();
          if (!f) return this.apply('create', l);
          chmodSync(abs(f.rel), r.pick(FILE_MODES));
        } else chmodSync(abs(r.pick(l.dirs)), r.pick(DIR_MODES));
        return op;
      }
      case 'touch': {
        const f = file();
        if (!f) return this.apply('create', l);
        const when = new Date(
          Date.UTC(
            r.int(1995, 2030),
            r.int(0, 11),
            r.int(1, 28),
            r.int(0, 23),
            r.int(0, 59),
            r.int(0, 59),
            r.int(0, 999),
          ),
        );
        utimesSync(abs(f.rel), when, when);
        return op;
      }
      case 'symlink': {
        if (l.links.length && r.chance(0.3)) {
          const link = r.pick(l.links);
          rmSync(abs(link));
          symlinkSync(this.linkTarget(), abs(link));
        } else symlinkSync(this.linkTarget(), abs(fresh(anyDir(), false)));
        return op;
      }
      case 'atomic-save': {
        const f = file();
        if (!f) return this.apply('create', l);
        // An editor's safe write: new content to a sibling, renamed over the original.
        const tmp = abs(under(parent(f.rel), `.saving-${r.int(0, 1e9)}`));
        writeFileSync(tmp, this.content());
        chmodSync(tmp, lstatSync(abs(f.rel)).mode & 0o7777);
        renameSync(tmp, abs(f.rel));
        return op;
      }
    }
  }

  private content(): Buffer {
    const r = this.rng;
    const size = r.chance(0.05)
      ? 0
      : r.chance(0.8)
        ? r.int(1, 16 * 1024)
        : r.chance(0.85)
          ? r.int(16 * 1024, 256 * 1024)
          : r.int(256 * 1024, 1536 * 1024);
    return r.bytes(size);
  }

  private linkTarget(): string {
    const r = this.rng;
    return r.pick([
      'sibling.txt',
      '../up/and/over',
      '/etc/passwd',
      '/',
      `nowhere/${r.int(0, 1e6)}`,
      `$(touch /tmp/never-${r.int(0, 1e6)})`,
      'target with spaces and "quotes"',
      'ünïcødé/日本語',
      // Long, but no component over NAME_MAX: a directory replaced by a link whose target has
      // a longer component breaks chokidar (see docs/RELIABILITY.md), which hostile-input tests.
      `${'x'.repeat(r.int(100, 255))}/${'y'.repeat(r.int(100, 255))}/${'z'.repeat(r.int(1, 255))}`,
    ]);
  }

  /** The folder's files, directories and links (relative paths), and the bytes they hold. */
  list(): Listing {
    const out: Listing = { files: [], dirs: [], links: [], bytes: 0 };
    const walk = (rel: string) => {
      for (const name of readdirSync(rel ? join(this.root, rel) : this.root)) {
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(join(this.root, r));
        if (st.isSymbolicLink()) out.links.push(r);
        else if (st.isDirectory()) {
          out.dirs.push(r);
          walk(r);
        } else if (st.isFile()) {
          out.files.push({ rel: r, size: st.size });
          out.bytes += st.size;
        }
      }
    };
    walk('');
    return out;
  }
}

function parent(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

function base(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
