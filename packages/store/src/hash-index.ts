/**
 * An on-disk hash index: open addressing with linear probing over fixed 32-byte slots, read and written in
 * place with pread/pwrite. Looking up or adding a key costs a couple of system calls however many keys the
 * index holds; the table doubles (rebuilt into a new file, renamed over the old) when half full, so the
 * amortized cost of an insert stays flat. A batch of keys (`batch`, `getMany`) reads the pages around its slots
 * ahead and writes the changed ones back together instead (slot-pages.ts).
 *
 * File: header (64 bytes: magic, capacity, count) then `capacity` slots of
 *   key hash (16 bytes, SHA-256 prefix) | journal segment (u32) | offset (u64) | length (u32).
 * The index is derived data: the journal is the source of truth and can always rebuild it.
 */
import { nodeDigest } from '@custody/core/node';
import { closeSync, fstatSync, openSync, readSync, renameSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { CustodyError } from '@custody/core/errors';
import { SlotPages } from './slot-pages.js';

export interface RecordPosition {
  segment: number;
  offset: number;
  length: number;
}

const MAGIC = Buffer.from('CUSTIDX1');
const HEADER = 64;
const SLOT = 32;
const INITIAL_CAPACITY = 4096;

function keyHash(key: string): Buffer {
  return nodeDigest('sha256', key).subarray(0, 16);
}

/** Keys whose slots an index remembers (about 100 bytes each). */
const KNOWN_KEYS = 65_536;

/*
 * A slot's fields are read and written byte by byte here, not with Buffer's readUInt32LE, BigInt64 writes, copy
 * and compare: those are general functions full of argument checks, and a handoff batch in a fresh process had
 * the optimizing compiler build each of them (Node's buffer helpers: 233 ms of compile jobs, 117 ms without
 * the index's uses).
 */

/** The little-endian unsigned 32-bit number at `b[at]`. */
function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/** Writes `v` (an unsigned 32-bit number) little-endian at `b[at]`; a Uint8Array keeps each byte's low 8 bits. */
function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** The position in the slot at `s[at]`. */
function slotPosition(s: Uint8Array, at: number): RecordPosition {
  return { segment: readU32(s, at + 16), offset: readU32(s, at + 20) + readU32(s, at + 24) * 0x100000000, length: readU32(s, at + 28) };
}

/** The length field of the slot at `s[at]`: 0 for an empty slot. */
const slotLength = (s: Uint8Array, at: number): number => readU32(s, at + 28);

/** True when the slot at `s[at]` holds the 16-byte key hash `hash`. */
function holdsKey(s: Uint8Array, at: number, hash: Uint8Array): boolean {
  for (let k = 0; k < 16; k++) if (s[at + k] !== hash[k]) return false;
  return true;
}

/** Writes the slot of `hash` at `pos` into `s` (SLOT bytes). */
function encodeSlot(s: Uint8Array, hash: Uint8Array, pos: RecordPosition): void {
  if (!isU32(pos.segment) || !isU32(pos.length) || !Number.isSafeInteger(pos.offset) || pos.offset < 0) {
    throw new TypeError(`a record position must hold unsigned integers, not ${JSON.stringify(pos)}`);
  }
  for (let k = 0; k < 16; k++) s[k] = hash[k]!;
  writeU32(s, 16, pos.segment);
  writeU32(s, 20, pos.offset % 0x100000000);
  writeU32(s, 24, Math.floor(pos.offset / 0x100000000));
  writeU32(s, 28, pos.length);
}

export class HashIndex {
  private fd = -1;
  private ino = -1;
  private capacity = 0;
  private count = 0;
  private readonly slot = Buffer.alloc(SLOT * 4);
  /** The slot `put` writes. */
  private readonly out = Buffer.alloc(SLOT);
  /**
   * Where keys this process met are, in the current file: a key's slot never moves until the table grows into
   * a new file (no deletions), so a repeated lookup reads one slot and a replace writes it without probing.
   */
  private readonly known = new Map<string, { hash: Buffer; index: number }>();
  /**
   * Empty slots where keys that were looked up and not found would go, until the next `refresh` (the lock's
   * start) or until something is written there: the batch that checked its keys are free then adds them
   * without probing again.
   */
  private readonly vacant = new Map<string, { hash: Buffer; index: number }>();
  private readonly written = new Set<number>();
  /** Keys that `reserve` counted ahead in the header and `settle` has not yet accounted for. */
  private reserved = 0;
  /** The slot pages of the running `batch`, if any: slots are read and written there, not in the file. */
  private pages: SlotPages | undefined;
  /** The running batch's key hashes, worked out once by its prefetch. */
  private batchHashes: Map<string, Buffer> | undefined;

  /**
   * @param hexKeys keys are hex strings of at least 16 random-looking bytes (key hashes, random certificate
   *   serials): their first 16 bytes serve as the slot key directly, without hashing them again. Other keys
   *   (device serials) are hashed.
   */
  constructor(
    private readonly path: string,
    private readonly hexKeys = false,
  ) {}

  private slotKey(key: string): Buffer {
    const memo = this.batchHashes?.get(key);
    if (memo) return memo;
    if (this.hexKeys && key.length >= 32 && /^[0-9a-f]+$/.test(key)) return Buffer.from(key.slice(0, 32), 'hex');
    return keyHash(key);
  }

  /** Creates an empty index file. */
  static create(path: string, capacity = INITIAL_CAPACITY): void {
    const buf = Buffer.alloc(HEADER + capacity * SLOT);
    MAGIC.copy(buf, 0);
    buf.writeUInt32LE(capacity, 8);
    buf.writeUInt32LE(0, 12);
    const fd = openSync(path, 'wx');
    try {
      writeSync(fd, buf);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** (Re)reads the header; reopens when another process replaced the file. Call with the store lock held. */
  refresh(): void {
    // A running batch's pages belong to the file as it was: its writes go there, and its pages restart.
    this.pages?.flush();
    const ino = statSync(this.path).ino;
    if (this.fd >= 0 && ino !== this.ino) {
      closeSync(this.fd);
      this.fd = -1;
      this.known.clear();
    }
    if (this.fd < 0) {
      this.fd = openSync(this.path, 'r+');
      this.ino = fstatSync(this.fd).ino;
    }
    this.vacant.clear();
    this.written.clear();
    const h = Buffer.alloc(16);
    readSync(this.fd, h, 0, 16, 0);
    if (!h.subarray(0, 8).equals(MAGIC)) throw new CustodyError('ERR_STORE_CORRUPT', `${this.path}: not a custody index`, { file: this.path });
    this.capacity = h.readUInt32LE(8);
    this.count = h.readUInt32LE(12);
    if (this.pages) this.pages = new SlotPages(this.fd, HEADER);
  }

  /**
   * Makes sure reads go to the current file: another process may have grown the table (a new file renamed
   * over this one). Cheaper than `refresh`: one stat, and a reopen only when the file was replaced.
   */
  ensureCurrent(): void {
    if (this.fd < 0 || statSync(this.path).ino !== this.ino) this.refresh();
  }

  get size(): number {
    return this.count;
  }

  /**
   * The slot where the lookup of `hash` starts, a small integer: the remainder of a large unsigned number is a
   * boxed double before the optimizing compiler has run, and one stored as an index turns the index fields of the
   * lookups' objects into double fields, throwing away the code compiled for them.
   */
  private home(hash: Buffer): number {
    return (readU32(hash, 0) % this.capacity) | 0;
  }

  private find(hash: Buffer): { index: number; pos?: RecordPosition } {
    let i = this.home(hash);
    for (;;) {
      // Read up to four slots per call: most lookups end in the first.
      const slots = this.readSlots(i, Math.min(4, this.capacity - i));
      const n = slots.length / SLOT;
      for (let j = 0; j < n; j++) {
        if (slotLength(slots, j * SLOT) === 0) return { index: i + j };
        if (holdsKey(slots, j * SLOT, hash)) return { index: i + j, pos: slotPosition(slots, j * SLOT) };
      }
      i = (i + n) % this.capacity;
    }
  }

  /** Up to `n` slots from slot `i`: from the batch's pages, or one read. */
  private readSlots(i: number, n: number): Buffer {
    if (this.pages) return this.pages.read(i, n);
    readSync(this.fd, this.slot, 0, n * SLOT, HEADER + i * SLOT);
    return this.slot.subarray(0, n * SLOT);
  }

  private writeSlot(i: number, s: Buffer): void {
    if (this.pages) this.pages.write(i, s);
    else writeSync(this.fd, s, 0, SLOT, HEADER + i * SLOT);
  }

  /**
   * Runs `fn`, whose lookups and writes are mostly of `keys`, over pages of slots read ahead in a few long
   * reads; what it writes reaches the file in a few long writes when it returns. Outside the store lock, `fn`
   * may only read.
   */
  batch<T>(keys: readonly string[], fn: () => T): T {
    if (this.fd < 0) this.refresh();
    if (this.pages) {
      this.prefetch(keys);
      return fn();
    }
    this.pages = new SlotPages(this.fd, HEADER);
    this.batchHashes = new Map();
    try {
      this.prefetch(keys);
      return fn();
    } finally {
      const pages = this.pages;
      this.pages = undefined;
      this.batchHashes = undefined;
      pages.flush();
    }
  }

  /** Reads ahead the slot each key's lookup starts at. */
  private prefetch(keys: readonly string[]): void {
    const starts = keys.map((key) => {
      const at = this.known.get(key)?.index ?? this.vacant.get(key)?.index;
      if (at !== undefined) return at;
      const hash = this.slotKey(key);
      this.batchHashes!.set(key, hash);
      return this.home(hash);
    });
    this.pages!.prefetch(starts);
  }

  /** `get` for many keys, their slots read together. */
  getMany(keys: readonly string[]): Array<RecordPosition | undefined> {
    return this.batch(keys, () => keys.map((key) => this.get(key)));
  }

  /** Where the record for `key` is, if the index has it. */
  get(key: string): RecordPosition | undefined {
    if (this.fd < 0) this.refresh();
    const known = this.known.get(key);
    if (known) return slotPosition(this.readSlots(known.index, 1), 0);
    const hash = this.slotKey(key);
    const found = this.find(hash);
    if (found.pos) this.remember(key, hash, found.index);
    else if (this.vacant.size < KNOWN_KEYS) this.vacant.set(key, { hash, index: found.index });
    return found.pos;
  }

  /**
   * Before a batch of up to `n` new keys: grows the table if they need it and writes a header count that
   * already includes them, so that a crash during the batch leaves the count high (the table grows early),
   * never low (it could fill unnoticed). Then `put` without a header write each; `settle` writes the exact
   * count. Call with the store lock held, after `refresh()`.
   */
  reserve(n: number): void {
    while ((this.count + n) * 2 > this.capacity) this.grow();
    this.reserved = n;
    this.writeCount(this.count + n);
  }

  /** Ends a `reserve`d batch: the header gets the exact count. */
  settle(): void {
    this.reserved = 0;
    this.writeCount(this.count);
  }

  private writeCount(n: number): void {
    const c = Buffer.alloc(4);
    c.writeUInt32LE(n);
    writeSync(this.fd, c, 0, 4, 12);
  }

  private remember(key: string, hash: Buffer, index: number): void {
    if (this.known.size >= KNOWN_KEYS) this.known.clear();
    this.known.set(key, { hash, index });
  }

  /**
   * Adds or (with `replace`) moves a key. Returns false, writing nothing, when the key exists and `replace` is
   * false. Call with the store lock held, after `refresh()`.
   */
  put(key: string, pos: RecordPosition, replace: boolean): boolean {
    if ((this.count + 1) * 2 > this.capacity) this.grow();
    let known = this.known.get(key);
    let exists = known !== undefined;
    if (!known) {
      const free = this.vacant.get(key);
      if (free && !this.written.has(free.index)) known = free;
      else {
        const hash = this.slotKey(key);
        const found = this.find(hash);
        exists = found.pos !== undefined;
        known = { hash, index: found.index };
      }
      this.vacant.delete(key);
    }
    if (exists && !replace) return false;
    encodeSlot(this.out, known.hash, pos);
    this.writeSlot(known.index, this.out);
    this.written.add(known.index);
    this.remember(key, known.hash, known.index);
    if (!exists) {
      this.count += 1;
      // Within a reservation the header already counts this key.
      if (this.reserved > 0) this.reserved -= 1;
      else this.writeCount(this.count);
    }
    return true;
  }

  /** Doubles the table into a new file and renames it over this one. */
  private grow(): void {
    // A running batch's writes go to the old file first: the new one is built from it.
    this.pages?.flush();
    const old = Buffer.alloc(this.capacity * SLOT);
    readSync(this.fd, old, 0, old.length, HEADER);
    const capacity = this.capacity * 2;
    const next = Buffer.alloc(HEADER + capacity * SLOT);
    MAGIC.copy(next, 0);
    next.writeUInt32LE(capacity, 8);
    next.writeUInt32LE(this.count, 12);
    for (let k = 0; k < this.capacity; k++) {
      if (slotLength(old, k * SLOT) === 0) continue;
      let i = readU32(old, k * SLOT) % capacity;
      while (slotLength(next, HEADER + i * SLOT) !== 0) i = (i + 1) % capacity;
      next.set(old.subarray(k * SLOT, (k + 1) * SLOT), HEADER + i * SLOT);
    }
    const tmp = `${this.path}.${process.pid}.grow`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, next);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    closeSync(this.fd);
    this.fd = -1;
    this.known.clear();
    this.refresh();
    if (this.reserved > 0) this.writeCount(this.count + this.reserved);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
