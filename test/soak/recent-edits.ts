/**
 * The last edit each side of the soak made to a path (local driver, server driver), shared by
 * both drivers of one folder. A size-and-mtime syncer (Ferry, rsync) cannot tell apart two
 * versions of a file that have the same size in the same mtime second, on one side or across
 * the two (documented in docs/RELIABILITY.md, Known limits). So neither driver makes its new
 * version the size of the other side's version from less than 2.5 s ago: a coincidence no
 * comparison can see is Ferry's documented limit, not a finding.
 */
export type Side = 'local' | 'server';

export class RecentEdits {
  readonly #last = new Map<string, { side: Side; size: number; at: number }>();

  /** `size`, or one more when the other side wrote that size to `rel` in the last 2.5 s. */
  sizeFor(side: Side, rel: string, size: number, now = Date.now()): number {
    const other = this.#last.get(rel);
    return other && other.side !== side && now - other.at < 2500 && other.size === size ? size + 1 : size;
  }

  note(side: Side, rel: string, size: number, now = Date.now()): void {
    this.#last.set(rel, { side, size, at: now });
  }
}
