/**
 * One batch's view of a hash index's slot region, in pages read ahead together and written back together.
 * Keys spread their slots at random, so a batch of a thousand keys touches a thousand places; reading the
 * pages around them in a few long reads, and writing the changed ones back in a few long writes, costs far
 * fewer system calls than a read and a write per key (each one 5 to 10 us on a VM).
 *
 * Valid for one batch: under the store lock for writes, or for one lookup pass without it.
 */
import { readSync, writeSync } from 'node:fs';
import { concatBytes } from '@custody/core/util';

/** Slots per page (32-byte slots: 4 KiB pages). */
export const PAGE_SLOTS = 128;
const PAGE_BYTES = PAGE_SLOTS * 32;
/** Pages closer than this are read (and, when changed, written) in one system call, up to RUN_PAGES long. */
const GAP_PAGES = 4;
const RUN_PAGES = 1024;

/**
 * Page numbers in ascending runs `[first, last]`: the next page joins a run while `joins(last, next)` and the
 * run stays under RUN_PAGES pages.
 */
function runs(pages: Iterable<number>, joins: (last: number, next: number) => boolean): Array<[number, number]> {
  const sorted = [...pages].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const p of sorted) {
    const run = out.at(-1);
    if (run && p - run[0] < RUN_PAGES && joins(run[1], p)) run[1] = p;
    else out.push([p, p]);
  }
  return out;
}

export class SlotPages {
  private readonly pages = new Map<number, Buffer>();
  private readonly dirty = new Set<number>();

  /**
   * @param fd the index file, open for reading (and writing, to flush)
   * @param base the file offset of slot 0 (the table's capacity is a multiple of PAGE_SLOTS)
   */
  constructor(
    private readonly fd: number,
    private readonly base: number,
  ) {}

  /** Reads the pages holding `slotIndexes` that are not loaded yet, nearby pages in one read. */
  prefetch(slotIndexes: Iterable<number>): void {
    const wanted = new Set<number>();
    for (const i of slotIndexes) {
      const p = Math.floor(i / PAGE_SLOTS);
      if (!this.pages.has(p)) wanted.add(p);
    }
    for (const [first, last] of runs(wanted, (last, next) => next - last <= GAP_PAGES)) this.load(first, last);
  }

  /** Pages `first` to `last`, inclusive, in one read (pages already loaded keep their, possibly newer, bytes). */
  private load(first: number, last: number): void {
    const buf = Buffer.allocUnsafe((last - first + 1) * PAGE_BYTES);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(this.fd, buf, got, buf.length - got, this.base + first * PAGE_BYTES + got);
      if (n === 0) break;
      got += n;
    }
    // A table file is whole pages long; a short read means it was cut, and its missing slots read as empty.
    buf.fill(0, got);
    for (let p = first; p <= last; p++) if (!this.pages.has(p)) this.pages.set(p, buf.subarray((p - first) * PAGE_BYTES, (p - first + 1) * PAGE_BYTES));
  }

  private page(p: number): Buffer {
    let page = this.pages.get(p);
    if (!page) {
      this.load(p, p);
      page = this.pages.get(p)!;
    }
    return page;
  }

  /** Up to `n` slots from slot `i` (fewer at a page's end), as a view into the page. */
  read(i: number, n: number): Buffer {
    const p = Math.floor(i / PAGE_SLOTS);
    const at = (i % PAGE_SLOTS) * 32;
    return this.page(p).subarray(at, Math.min(at + n * 32, PAGE_BYTES));
  }

  /** Sets slot `i` to `bytes` (32 of them); the file sees it at `flush`. */
  write(i: number, bytes: Uint8Array): void {
    const p = Math.floor(i / PAGE_SLOTS);
    if (bytes.length !== 32) throw new RangeError(`a slot is 32 bytes, not ${bytes.length}`);
    this.page(p).set(bytes, (i % PAGE_SLOTS) * 32);
    this.dirty.add(p);
  }

  /**
   * Writes the changed pages back: runs of nearby changed pages in one write each, the loaded pages between
   * them included (they were read under the same lock, so they are current).
   */
  flush(): void {
    const dirty = runs(this.dirty, (last, next) => this.loadedBetween(last, next));
    this.dirty.clear();
    for (const [first, last] of dirty) {
      const run = [];
      for (let p = first; p <= last; p++) run.push(this.pages.get(p)!);
      const buf = run.length === 1 ? run[0]! : concatBytes(...run);
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off, this.base + first * PAGE_BYTES + off);
    }
  }

  /** True when the pages strictly between `a` and `b` are few and all loaded. */
  private loadedBetween(a: number, b: number): boolean {
    if (b - a > GAP_PAGES) return false;
    for (let p = a + 1; p < b; p++) if (!this.pages.has(p)) return false;
    return true;
  }
}
