/**
 * The embedded store's write-ahead journal: append-only segments of checksummed JSON lines, flushed with
 * fdatasync before a write is acknowledged. Everything else on disk (device documents, indexes) is derived
 * from it and rebuilt from it after a crash, so a kill -9 at any instant leaves either a whole record or none.
 *
 * Line format (journal-lines.ts): `<crc32 of the JSON, 8 hex> <JSON>\n`. Each append ends with a commit line
 * `{"t":"commit","n":N}` naming how many records it closes.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import type { RecordPosition } from './hash-index.js';
import { fileSize } from './file-size.js';
import { decodeLine, EncodedRecord, encodeLines, lineIntact, parseJSON, RUN_BYTES, Scratch } from './journal-lines.js';

export { EncodedRecord };

export interface JournalPosition {
  segment: number;
  offset: number;
}

const SEGMENT_BYTES = 64 * 1024 * 1024;
/** Records closer than this are read together by `readMany`, in reads of at most RUN_BYTES (journal-lines.ts). */
const RUN_GAP = 16 * 1024;

const segmentName = (n: number) => `${String(n).padStart(8, '0')}.jsonl`;

function corrupt(file: string, offset: number, what: string): CustodyError {
  return new CustodyError('ERR_STORE_CORRUPT', `${file}: journal damaged at byte ${offset} (${what})`, { file });
}

/** The bytes of `file` from `offset` on: only the unapplied tail is read, however long the journal. */
function readTail(file: string, offset: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fileSize(fd);
    const buf = Buffer.alloc(Math.max(0, size - offset));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export class Journal {
  private fd: number | undefined;
  /** Read descriptors by segment, kept open: a batch reads thousands of records. */
  private readonly readers = new Map<number, number>();
  /** The bytes of the append under way (written, then no longer needed) and of the read under way. */
  private readonly appendBytes = new Scratch();
  private readonly readBytes = new Scratch();
  private segment = 0;
  private size = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private segments(): number[] {
    return readdirSync(this.dir)
      .filter((f) => /^\d{8}\.jsonl$/.test(f))
      .map((f) => Number(f.slice(0, 8)))
      .sort((a, b) => a - b);
  }

  /**
   * Opens the newest segment for appending (creating the first) and learns its size afresh: another process
   * may have appended or rolled since. Call with the store lock held.
   */
  private openTail(): void {
    const newest = this.segments().at(-1) ?? 1;
    if (this.fd !== undefined && newest !== this.segment) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    this.segment = newest;
    this.fd ??= openSync(join(this.dir, segmentName(this.segment)), 'a');
    this.size = fileSize(this.fd);
  }

  /** The end of the journal as this process last saw it. */
  end(): JournalPosition {
    this.openTail();
    return { segment: this.segment, offset: this.size };
  }

  /**
   * Appends records and flushes them to disk before the promise settles: where each one landed, and the new
   * end. Call with the store lock held, and append nothing else until it settles.
   *
   * Not an async function: one would keep `records` (a chunk's kilobytes of text) alive until the flush is
   * done, and the young-generation collections during the flush copied them, or moved them to the old
   * generation. Only the written bytes' positions wait for the flush.
   */
  append(records: readonly (object | EncodedRecord)[]): Promise<{ positions: RecordPosition[]; end: JournalPosition }> {
    let written: { fd: number; before: number; positions: RecordPosition[]; end: JournalPosition };
    try {
      written = this.write(records);
    } catch (e) {
      return Promise.reject(e);
    }
    const { fd, before, positions, end } = written;
    // On the thread pool: the caller's thread may prepare its next batch while the disk flushes this one.
    return new Promise((resolve, reject) =>
      fdatasync(fd, (e) => {
        if (!e) return resolve({ positions, end });
        this.cut(fd, before);
        reject(e);
      }),
    );
  }

  /** `append` up to the flush: the records written after the journal's end, and where they landed. */
  private write(records: readonly (object | EncodedRecord)[]): { fd: number; before: number; positions: RecordPosition[]; end: JournalPosition } {
    this.openTail();
    const { bytes, lengths } = encodeLines([...records, { t: 'commit', n: records.length }], (n) => this.appendBytes.take(n));
    if (this.size > 0 && this.size + bytes.length > SEGMENT_BYTES) this.roll();
    const positions: RecordPosition[] = [];
    let at = this.size;
    for (const length of lengths.slice(0, -1)) {
      positions.push({ segment: this.segment, offset: at, length });
      at += length;
    }
    const fd = this.fd!;
    const before = this.size;
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      this.cut(fd, before);
      throw e;
    }
    this.size += bytes.length;
    return { fd, before, positions, end: { segment: this.segment, offset: before + bytes.length } };
  }

  /** An append that failed is not acknowledged, so not to be replayed either: cut it off (as far as the disk allows). */
  private cut(fd: number, before: number): void {
    try {
      ftruncateSync(fd, before);
      if (fd === this.fd) this.size = before;
    } catch {
      // The failure is reported by the caller; replay's checks still hold for whatever the disk kept.
    }
  }

  /**
   * The record at `pos` (as an index recorded it), checksum verified.
   * @throws ERR_STORE_CORRUPT
   */
  readAt(pos: RecordPosition): unknown {
    return this.readMany([pos])[0];
  }

  /** The file of a segment, for messages. */
  segmentFile(segment: number): string {
    return join(this.dir, segmentName(segment));
  }

  private reader(segment: number, offset: number): number {
    let fd = this.readers.get(segment);
    if (fd === undefined) {
      const file = join(this.dir, segmentName(segment));
      try {
        fd = openSync(file, 'r');
      } catch (e) {
        throw corrupt(file, offset, `segment missing (${(e as NodeJS.ErrnoException).code})`);
      }
      this.readers.set(segment, fd);
    }
    return fd;
  }

  /**
   * The records at `positions`, in that order, checksums verified. Records that lie close together in one
   * segment (a lot provisioned together) are read with one system call per run. With `without`, records that
   * end with that top-level field are read without it (as `decodeLine` says): what a reader needs from a long
   * record's head is parsed, and the rest only checksummed.
   * @throws ERR_STORE_CORRUPT
   */
  readMany(positions: readonly RecordPosition[], without?: string): unknown[] {
    const cut = without === undefined ? undefined : Buffer.from(`,${JSON.stringify(without)}:`);
    const out: unknown[] = new Array(positions.length);
    // The reading order in a typed array: callers pass arrays of several kinds, and an array made from each
    // (by map) came in as many shapes, each throwing away the compiled code built for the one before.
    const order = new Uint32Array(positions.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => positions[a]!.segment - positions[b]!.segment || positions[a]!.offset - positions[b]!.offset);
    for (let k = 0; k < order.length;) {
      // A run: records of one segment whose gaps are small, up to a bounded read.
      const first = positions[order[k]!]!;
      let end = first.offset + first.length;
      let j = k + 1;
      for (; j < order.length; j++) {
        const p = positions[order[j]!]!;
        if (p.segment !== first.segment || p.offset - end > RUN_GAP || p.offset + p.length - first.offset > RUN_BYTES) break;
        end = Math.max(end, p.offset + p.length);
      }
      // Records are parsed out of it (never kept as views), so the next run may overwrite it.
      const buf = this.readBytes.take(end - first.offset);
      const got = readSync(this.reader(first.segment, first.offset), buf, 0, buf.length, first.offset);
      const file = () => join(this.dir, segmentName(first.segment));
      for (; k < j; k++) {
        const p = positions[order[k]!]!;
        if (p.offset + p.length - first.offset > got) throw corrupt(file(), p.offset, 'record cut short');
        const rec = decodeLine(buf.subarray(p.offset - first.offset, p.offset - first.offset + p.length), cut);
        if (typeof rec === 'string') throw corrupt(file(), p.offset, rec);
        out[order[k]!] = rec.value;
      }
    }
    return out;
  }

  private roll(): void {
    closeSync(this.fd!);
    this.segment += 1;
    this.fd = openSync(join(this.dir, segmentName(this.segment)), 'a');
    this.size = 0;
  }

  /**
   * Every whole record after `from`, in order. A torn tail (a crash mid-append) is cut off; damage anywhere
   * else is an error. Call with the store lock held.
   * @throws ERR_STORE_CORRUPT
   */
  readFrom(from: JournalPosition, repair = true): { records: Array<{ record: unknown; pos: RecordPosition }>; end: JournalPosition } {
    const records: Array<{ record: unknown; pos: RecordPosition }> = [];
    const segs = this.segments().filter((s) => s >= from.segment);
    // Only groups closed by their commit line count: an append cut short by a crash (any number of whole
    // records, but no commit line) is dropped whole, so a chunk of devices is recorded all or none.
    let end = from;
    let pending: Array<{ record: unknown; pos: RecordPosition }> = [];
    let tornAt: JournalPosition | undefined;
    for (const [i, seg] of segs.entries()) {
      const file = join(this.dir, segmentName(seg));
      const base = seg === from.segment ? from.offset : 0;
      const buf = readTail(file, base);
      let p = 0;
      const last = i === segs.length - 1;
      if (pending.length > 0) throw corrupt(file, base, 'a group without its commit line before a later segment');
      while (p < buf.length) {
        const nl = buf.indexOf(0x0a, p);
        const ok = nl >= 0 && lineIntact(buf, p, nl);
        if (!ok) {
          if (last && (nl < 0 || buf.indexOf(0x0a, nl + 1) < 0)) {
            tornAt = { segment: seg, offset: base + p };
            break;
          }
          throw corrupt(file, base + p, nl < 0 ? 'unterminated record' : 'checksum mismatch');
        }
        const parsed = parseJSON(buf.toString('utf8', p + 9, nl));
        if (parsed === 'not JSON') throw corrupt(file, base + p, parsed);
        const record = parsed.value as { t?: string; n?: number } | null;
        if (record?.t === 'commit') {
          if (record.n !== pending.length) throw corrupt(file, base + p, `commit of ${record.n} records after ${pending.length}`);
          records.push(...pending);
          pending = [];
          end = { segment: seg, offset: base + nl! + 1 };
        } else {
          pending.push({ record, pos: { segment: seg, offset: base + p, length: nl! + 1 - p } });
        }
        p = nl! + 1;
      }
      if (pending.length === 0 && tornAt === undefined) end = { segment: seg, offset: base + p };
    }
    if (pending.length > 0 || tornAt !== undefined) {
      // A torn or uncommitted tail was never acknowledged. A writer (holding the lock) cuts it off so that
      // appends start clean; a reader without the lock only stops there.
      if (repair) this.truncate(end.segment, end.offset);
    }
    return { records, end };
  }

  private truncate(seg: number, offset: number): void {
    const reader = this.readers.get(seg);
    if (reader !== undefined) {
      closeSync(reader);
      this.readers.delete(seg);
    }
    const fd = openSync(join(this.dir, segmentName(seg)), 'r+');
    try {
      ftruncateSync(fd, offset);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (seg === this.segment && this.fd !== undefined) this.size = offset;
  }

  /** Reads the applied-up-to watermark. */
  readWatermark(): JournalPosition {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'applied'), 'utf8')) as JournalPosition;
    } catch {
      return { segment: 1, offset: 0 };
    }
  }

  /** Records that everything before `pos` is reflected in the derived files. */
  writeWatermark(pos: JournalPosition): void {
    const tmp = join(this.dir, `applied.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(pos));
    renameSync(tmp, join(this.dir, 'applied'));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    for (const fd of this.readers.values()) closeSync(fd);
    this.readers.clear();
  }
}
