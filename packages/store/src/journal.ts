/**
 * The embedded store's write-ahead journal: append-only segments of checksummed JSON lines, flushed with
 * fdatasync before a write is acknowledged. Everything else on disk (device documents, indexes) is derived
 * from it and rebuilt from it after a crash, so a kill -9 at any instant leaves either a whole record or none.
 *
 * Line format: `<crc32 of the JSON, 8 hex> <JSON>\n`.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CustodyError } from '@custody/core';

export interface JournalPosition {
  segment: number;
  offset: number;
}

const SEGMENT_BYTES = 64 * 1024 * 1024;
const segmentName = (n: number) => `${String(n).padStart(8, '0')}.jsonl`;

function corrupt(file: string, offset: number, what: string): CustodyError {
  return new CustodyError('ERR_STORE_CORRUPT', `${file}: journal damaged at byte ${offset} (${what})`, { file });
}

export class Journal {
  private fd: number | undefined;
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
    this.size = fstatSync(this.fd).size;
  }

  /** The end of the journal as this process last saw it. */
  end(): JournalPosition {
    this.openTail();
    return { segment: this.segment, offset: this.size };
  }

  /** Appends records and flushes them to disk before returning. Call with the store lock held. */
  append(records: readonly object[]): JournalPosition {
    this.openTail();
    let text = '';
    for (const r of records) {
      const json = JSON.stringify(r);
      text += `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
    }
    const bytes = Buffer.from(text, 'utf8');
    if (this.size > 0 && this.size + bytes.length > SEGMENT_BYTES) this.roll();
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd!, bytes, off, bytes.length - off);
    fdatasyncSync(this.fd!);
    this.size += bytes.length;
    return { segment: this.segment, offset: this.size };
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
  readFrom(from: JournalPosition): { records: unknown[]; end: JournalPosition } {
    const records: unknown[] = [];
    const segs = this.segments().filter((s) => s >= from.segment);
    let end = from;
    for (const [i, seg] of segs.entries()) {
      const file = join(this.dir, segmentName(seg));
      const buf = readFileSync(file);
      let p = seg === from.segment ? from.offset : 0;
      const last = i === segs.length - 1;
      while (p < buf.length) {
        const nl = buf.indexOf(0x0a, p);
        const line = nl < 0 ? undefined : buf.toString('utf8', p, nl);
        const ok = line !== undefined && line.length > 9 && line[8] === ' ' && crc32(line.slice(9)).toString(16).padStart(8, '0') === line.slice(0, 8);
        if (!ok) {
          if (last && (nl < 0 || buf.indexOf(0x0a, nl + 1) < 0)) {
            // Torn final record: it was never acknowledged. Cut it off so that appends start clean.
            this.truncate(seg, p);
            break;
          }
          throw corrupt(file, p, nl < 0 ? 'unterminated record' : 'checksum mismatch');
        }
        records.push(JSON.parse(line!.slice(9)));
        p = nl + 1;
      }
      end = { segment: seg, offset: Math.min(p, buf.length) };
    }
    return { records, end };
  }

  private truncate(seg: number, offset: number): void {
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
  }
}
