/**
 * The embedded store's transparency log on disk, under `<store>/log/`:
 *
 *   level-NN    the 32-byte hashes of the complete subtrees of level NN, node i at byte i * 32 (level 00 holds
 *               the RFC 6962 leaf hashes); append-only, read and written with pread/pwrite
 *   leaves      one 16-byte record per leaf, leaf i at byte i * 16: the journal position (segment u32,
 *               offset u32, length u32) of the journal record that added it and the attestation's seq (u32),
 *               all big-endian
 *
 * The number of leaves is the length of `level-00` / 32. A batch writes the leaf records and the upper levels
 * first and the leaf hashes last, so every leaf counted has its record, and every node a reader finds is the
 * right one: nodes past the size (left by a crash mid-batch) are those of leaves the journal already holds,
 * and replaying the journal rewrites the same bytes. Like the indexes, the log is derived from the journal.
 *
 * Appending costs one positioned write per level touched per batch (the nodes a batch completes on one level
 * are contiguous), and 1 + (trailing ones of the index) node hashes per leaf: 2 on average, whatever the size.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import { nodeSha256 } from '@custody/core/node';
import { concatBytes } from '@custody/core/util';
import { MerkleLog } from '@custody/core/log';
import type { NodeStore, StoredNode } from '@custody/core/log';
import type { RecordPosition } from './hash-index.js';
import { fileSize } from './file-size.js';

const HASH = 32;
const LEAF_RECORD = 16;
const U32 = 0x1_0000_0000;

/** One attestation to log: its DER, and where the journal record that added it sits. */
export interface LogEntry {
  readonly leafIndex: number;
  readonly attestation: Uint8Array;
  readonly pos: RecordPosition;
  readonly seq: number;
}

/** Where leaf i came from. */
export interface LeafRecord {
  readonly pos: RecordPosition;
  readonly seq: number;
}

/** Counters of the write path, for tests and benchmarks. */
export interface LogWriteStats {
  /** Node hashes written (leaves included). */
  nodes: number;
  /** pwrite calls on level files. */
  writes: number;
}

interface LevelFile {
  fd: number;
  writable: boolean;
  length: number;
}

/** The on-disk log of one embedded store: a `NodeStore` with an append path. */
export class LogStore implements NodeStore {
  readonly #dir: string;
  readonly #levels = new Map<number, LevelFile>();
  #leaves: LevelFile | undefined;
  #log: MerkleLog | undefined;
  readonly stats: LogWriteStats = { nodes: 0, writes: 0 };

  /** A log in `dir` (created on the first append). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(level: number): string {
    return join(this.#dir, `level-${String(level).padStart(2, '0')}`);
  }

  #open(path: string, file: LevelFile | undefined, write: boolean): LevelFile | undefined {
    if (file && (file.writable || !write)) return file;
    if (!write && !existsSync(path)) return undefined;
    if (file) closeSync(file.fd);
    if (write) mkdirSync(this.#dir, { recursive: true });
    const fd = write ? openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644) : openSync(path, 'r');
    return { fd, writable: write, length: fileSize(fd) };
  }

  #level(level: number, write: boolean): LevelFile | undefined {
    const f = this.#open(this.#path(level), this.#levels.get(level), write);
    if (f) this.#levels.set(level, f);
    return f;
  }

  /** Hash of node (level, index) when written, else undefined (then computed from its children). */
  get(level: number, index: number): Uint8Array | undefined {
    const f = this.#level(level, false);
    if (!f) return undefined;
    const at = index * HASH;
    // Another process may have appended since: learn the length afresh before answering "absent".
    if (at + HASH > f.length) f.length = fileSize(f.fd);
    if (at + HASH > f.length) return undefined;
    const buf = Buffer.alloc(HASH);
    if (readSync(f.fd, buf, 0, HASH, at) !== HASH) return undefined;
    return buf;
  }

  /** Number of leaves, read afresh from the leaf level's length. */
  size(): number {
    const f = this.#level(0, false);
    if (!f) return 0;
    f.length = fileSize(f.fd);
    return Math.floor(f.length / HASH);
  }

  /** Where leaf `index` came from, or undefined past the end. */
  leafAt(index: number): LeafRecord | undefined {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size()) return undefined;
    this.#leaves = this.#open(join(this.#dir, 'leaves'), this.#leaves, false);
    if (!this.#leaves) return undefined;
    const buf = Buffer.alloc(LEAF_RECORD);
    if (readSync(this.#leaves.fd, buf, 0, LEAF_RECORD, index * LEAF_RECORD) !== LEAF_RECORD) return undefined;
    return { pos: { segment: buf.readUInt32BE(0), offset: buf.readUInt32BE(4), length: buf.readUInt32BE(8) }, seq: buf.readUInt32BE(12) };
  }

  /**
   * Appends entries in order. An entry whose leaf index is below the size is already in the log (a replayed
   * journal record) and is skipped; the rest must continue the log without a gap. Call with the store lock held.
   * @returns the number of leaves appended
   * @throws ERR_STORE_CORRUPT when an entry's leaf index leaves a gap; ERR_STORE_IO when a write fails
   */
  append(entries: readonly LogEntry[]): number {
    const size = this.size();
    const fresh = entries.filter((e) => e.leafIndex >= size);
    if (fresh.length === 0) return 0;
    if (!this.#log || this.#log.size !== size) this.#log = MerkleLog.fromStore(this, size, nodeSha256);
    const byLevel = new Map<number, StoredNode[]>();
    const records = Buffer.alloc(fresh.length * LEAF_RECORD);
    for (const [i, e] of fresh.entries()) {
      if (e.leafIndex !== this.#log.size) {
        this.#log = undefined;
        throw new CustodyError(
          'ERR_STORE_CORRUPT',
          `${this.#dir}: log entry ${e.leafIndex} does not follow entry ${size + i - 1} (the journal and the log disagree)`,
        );
      }
      for (const n of this.#log.appendEntry(e.attestation)) (byLevel.get(n.level) ?? byLevel.set(n.level, []).get(n.level)!).push(n);
      if (e.pos.offset >= U32 || e.pos.length >= U32) throw new CustodyError('ERR_STORE_CORRUPT', `${this.#dir}: journal position out of range for the log`);
      records.writeUInt32BE(e.pos.segment, i * LEAF_RECORD);
      records.writeUInt32BE(e.pos.offset, i * LEAF_RECORD + 4);
      records.writeUInt32BE(e.pos.length, i * LEAF_RECORD + 8);
      records.writeUInt32BE(e.seq, i * LEAF_RECORD + 12);
    }
    try {
      this.#leaves = this.#open(join(this.#dir, 'leaves'), this.#leaves, true)!;
      writeAll(this.#leaves.fd, records, size * LEAF_RECORD);
      // Upper levels before the leaves: the leaf level's length is the size readers trust.
      const levels = [...byLevel.keys()].sort((a, b) => b - a);
      for (const level of levels) {
        const nodes = byLevel.get(level)!;
        const f = this.#level(level, true)!;
        writeAll(f.fd, concatBytes(...nodes.map((n) => n.hash)), nodes[0]!.index * HASH);
        f.length = Math.max(f.length, (nodes.at(-1)!.index + 1) * HASH);
        this.stats.nodes += nodes.length;
        this.stats.writes++;
      }
    } catch (e) {
      this.#log = undefined;
      if (e instanceof CustodyError) throw e;
      throw new CustodyError('ERR_STORE_IO', `${this.#dir}: cannot write the log (${(e as NodeJS.ErrnoException).code})`, { cause: e });
    }
    return fresh.length;
  }

  /** Closes the open files. */
  close(): void {
    for (const f of this.#levels.values()) closeSync(f.fd);
    this.#levels.clear();
    if (this.#leaves) closeSync(this.#leaves.fd);
    this.#leaves = undefined;
    this.#log = undefined;
  }
}

function writeAll(fd: number, buf: Uint8Array, position: number): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, position + off);
}
