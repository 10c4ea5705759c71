/**
 * The checkpoints a store's log signed, kept so that an exporter can prove later that a leaf was already logged
 * at an earlier time (the earliest checkpoint whose tree holds it, with a consistency proof to a newer one).
 *
 * Only growth is kept: a checkpoint is recorded when its tree is larger than every one recorded before, so the
 * history is ordered by tree size and, the clock being monotonic, by time; the first checkpoint whose tree
 * holds leaf i is then the earliest one that proves it. A checkpoint of an old size signed later proves less
 * than the one already kept, and is skipped.
 *
 * Embedded store: `<store>/checkpoints.jsonl`, one JSON line `{"size":N,"note":"<signed note>"}` per checkpoint,
 * each appended with one O_APPEND write (atomic between processes on a local file system) and fsynced; found by
 * a binary search over byte offsets, O(log n) reads whatever the history's length. It lives beside, not in,
 * `log/`, which is derived from the journal while the history is not. PostgreSQL: the `log_checkpoints` table
 * (migration 6, `pg-checkpoints.ts`). Both stores implement core's `CheckpointHistory` port with it.
 */
import { closeSync, existsSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { CustodyError } from '@custody/core/errors';
import type { CheckpointHistory } from '@custody/core/ports';
import { fileSize } from './file-size.js';

interface Line {
  start: number;
  /** Bytes including the newline. */
  length: number;
  size: number;
  note: string;
}

// A line holds a note of at most a few KiB (bundles refuse checkpoints over 4,096 characters).
const CHUNK = 16_384;

/** The history as a JSON-lines file (see the module comment). */
export class FileCheckpointHistory implements CheckpointHistory {
  constructor(readonly file: string) {}

  #io(what: string, e: unknown): CustodyError {
    return new CustodyError('ERR_STORE_IO', `${this.file}: cannot ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      file: this.file,
      cause: e,
    });
  }

  async recordCheckpoint(treeSize: number, note: string): Promise<void> {
    if (!Number.isSafeInteger(treeSize) || treeSize < 0) throw new TypeError(`recordCheckpoint: tree size ${treeSize} is not a count`);
    const { largest, torn } = await this.#tail();
    if (largest >= treeSize) return;
    // After a torn tail (a crash mid-append), a newline first, so that the new line stands on its own.
    const line = `${torn ? '\n' : ''}${JSON.stringify({ size: treeSize, note })}\n`;
    let fd: number | undefined;
    try {
      fd = openSync(this.file, 'a', 0o644);
      writeSync(fd, Buffer.from(line));
      fsyncSync(fd);
    } catch (e) {
      throw this.#io('record a checkpoint', e);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  async checkpointCovering(leafIndex: number): Promise<string | undefined> {
    if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || !existsSync(this.file)) return undefined;
    return this.#read((fd, end) => {
      // Invariant: lo is a line start, every line before lo is too small; the answer starts in [lo, hi).
      let lo = 0;
      let hi = end;
      let found: Line | undefined;
      while (lo < hi) {
        const line = lineFrom(fd, Math.floor((lo + hi) / 2), hi) ?? lineFrom(fd, lo, hi);
        if (!line) break;
        if (line.size > leafIndex) {
          found = line;
          hi = line.start;
        } else lo = line.start + line.length;
      }
      return found?.note;
    });
  }

  /** The size of the last complete line (the largest kept: only growth is appended), -1 for none; whether a torn line ends the file. */
  async #tail(): Promise<{ largest: number; torn: boolean }> {
    if (!existsSync(this.file)) return { largest: -1, torn: false };
    return this.#read((fd, end) => {
      const from = Math.max(0, end - CHUNK);
      const buf = readAt(fd, from, end - from);
      const torn = buf.length > 0 && buf[buf.length - 1] !== NL;
      let stop = buf.lastIndexOf(NL);
      while (stop >= 0) {
        const begin = stop === 0 ? 0 : buf.lastIndexOf(NL, stop - 1) + 1;
        // A line cut by the start of the chunk is not whole.
        if (begin === 0 && from > 0) break;
        const rec = parseLine(buf.subarray(begin, stop));
        if (rec) return { largest: rec.size, torn };
        stop = begin - 1;
      }
      return { largest: -1, torn };
    });
  }

  #read<T>(fn: (fd: number, end: number) => T): T {
    let fd: number | undefined;
    try {
      fd = openSync(this.file, 'r');
      return fn(fd, fileSize(fd));
    } catch (e) {
      throw e instanceof CustodyError ? e : this.#io('read the checkpoint history', e);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

const NL = 0x0a;

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  return buf.subarray(0, readSync(fd, buf, 0, length, position));
}

function parseLine(bytes: Buffer): { size: number; note: string } | undefined {
  try {
    const o = JSON.parse(bytes.toString('utf8')) as { size?: unknown; note?: unknown };
    return Number.isSafeInteger(o.size) && typeof o.note === 'string' ? { size: o.size as number, note: o.note } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The first complete, well-formed line that starts at or after byte `at` (`at` itself when it is 0 or follows a
 * newline) and ends before byte `end`, or undefined.
 */
function lineFrom(fd: number, at: number, end: number): Line | undefined {
  let start = at;
  if (at > 0) {
    const nl = readAt(fd, at - 1, Math.min(CHUNK, end - at + 1)).indexOf(NL);
    if (nl < 0) return undefined;
    start = at + nl;
  }
  while (start < end) {
    const buf = readAt(fd, start, Math.min(CHUNK, end - start));
    const nl = buf.indexOf(NL);
    if (nl < 0) return undefined;
    const rec = parseLine(buf.subarray(0, nl));
    if (rec) return { start, length: nl + 1, ...rec };
    start += nl + 1;
  }
  return undefined;
}
