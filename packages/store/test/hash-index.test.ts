/**
 * The on-disk hash index: open addressing, doubling when half full, shared between instances (processes)
 * through the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { HashIndex, type RecordPosition } from '../src/hash-index.js';

const HEADER = 64;
const SLOT = 32;
const INITIAL = 4096;

/** A distinct position per key number (length never 0: 0 marks an empty slot). */
const posOf = (i: number): RecordPosition => ({ segment: 1 + (i % 3), offset: i * 1000 + 7, length: 100 + (i % 50) });
const capacityOf = (file: string) => (statSync(file).size - HEADER) / SLOT;

describe('HashIndex', function () {
  let dir: string;
  let file: string;
  const open: HashIndex[] = [];
  const index = () => {
    const idx = new HashIndex(file);
    open.push(idx);
    idx.refresh();
    return idx;
  };

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'custody-index-'));
    file = join(dir, 'test.idx');
    HashIndex.create(file);
  });
  afterEach(function () {
    for (const idx of open.splice(0)) idx.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates an empty index of the initial capacity', function () {
    assert.equal(capacityOf(file), INITIAL);
    const idx = index();
    assert.equal(idx.size, 0);
    assert.equal(idx.get('anything'), undefined);
  });

  it('refuses to create over an existing file', function () {
    assert.throws(() => HashIndex.create(file), { code: 'EEXIST' });
  });

  it('finds all of 20,000 keys after several doublings, and no key it was not given', function () {
    this.timeout(60_000);
    const idx = index();
    const N = 20_000;
    for (let i = 0; i < N; i++) assert.equal(idx.put(`key-${i}`, posOf(i), false), true);
    assert.equal(idx.size, N);
    // Doubles when half full: 4096 -> 8192 -> 16384 -> 32768 -> 65536.
    assert.equal(capacityOf(file), 65536);
    for (let i = 0; i < N; i++) assert.deepEqual(idx.get(`key-${i}`), posOf(i), `key-${i}`);
    for (let i = N; i < N + 2000; i++) assert.equal(idx.get(`key-${i}`), undefined, `key-${i} was never added`);
    assert.equal(idx.get(''), undefined);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f !== 'test.idx'),
      [],
      'no temporary file left behind by the doublings',
    );

    const reopened = index();
    assert.equal(reopened.size, N);
    for (let i = 0; i < N; i += 7) assert.deepEqual(reopened.get(`key-${i}`), posOf(i));
  });

  it('keeps the first position of a key unless asked to replace it', function () {
    const idx = index();
    assert.equal(idx.put('device-1', posOf(1), false), true);
    assert.equal(idx.put('device-1', posOf(2), false), false, 'not replaced');
    assert.deepEqual(idx.get('device-1'), posOf(1));
    assert.equal(idx.size, 1);
    assert.equal(idx.put('device-1', posOf(3), true), true);
    assert.deepEqual(idx.get('device-1'), posOf(3));
    assert.equal(idx.size, 1, 'a replaced key is counted once');
  });

  it('adds a new key with replace set', function () {
    const idx = index();
    assert.equal(idx.put('device-9', posOf(9), true), true);
    assert.deepEqual(idx.get('device-9'), posOf(9));
    assert.equal(idx.size, 1);
  });

  it('keeps large offsets and segment numbers exactly', function () {
    const idx = index();
    const pos = { segment: 4_000_000_000, offset: 2 ** 52 + 3, length: 4_000_000_000 };
    idx.put('big', pos, false);
    assert.deepEqual(index().get('big'), pos);
  });

  it('writes a slot in the documented layout: key hash, segment u32, offset u64, length u32, little-endian', function () {
    const idx = index();
    const pos = { segment: 0x01020304, offset: 0x0a0b0c0d0e0f + 2 ** 40, length: 0xf0e0d0c0 };
    idx.put('layout', pos, false);
    const bytes = readFileSync(file);
    const hash = createHash('sha256').update('layout').digest().subarray(0, 16);
    const slots = Array.from({ length: INITIAL }, (_, i) => bytes.subarray(HEADER + i * SLOT, HEADER + (i + 1) * SLOT));
    const used = slots.filter((s) => s.readUInt32LE(28) !== 0);
    assert.equal(used.length, 1);
    const s = used[0]!;
    assert.deepEqual(s.subarray(0, 16), hash);
    assert.equal(s.readUInt32LE(16), pos.segment);
    assert.equal(s.readBigUInt64LE(20), BigInt(pos.offset));
    assert.equal(s.readUInt32LE(28), pos.length);
    // A slot written by Buffer's own writers (as earlier versions did) reads back the same.
    s.writeBigUInt64LE(2n ** 33n + 9n, 20);
    writeFileSync(file, bytes);
    assert.deepEqual(index().get('layout'), { ...pos, offset: 2 ** 33 + 9 });
  });

  it('refuses a position that is not unsigned integers, writing nothing', function () {
    const idx = index();
    const before = readFileSync(file);
    for (const pos of [
      { segment: -1, offset: 0, length: 1 },
      { segment: 1, offset: 1.5, length: 1 },
      { segment: 1, offset: 0, length: 2 ** 32 },
      { segment: 1, offset: 2 ** 53, length: 1 },
    ]) {
      assert.throws(() => idx.put('bad', pos, false), TypeError);
    }
    assert.deepEqual(readFileSync(file), before);
    assert.equal(idx.get('bad'), undefined);
  });

  it('sees keys added by another instance, also after that instance grew (replaced) the file', function () {
    const a = index();
    const b = index();
    a.put('early', posOf(1), false);
    b.refresh();
    assert.deepEqual(b.get('early'), posOf(1));

    const inoBefore = statSync(file).ino;
    for (let i = 0; i < 3000; i++) a.put(`grown-${i}`, posOf(i), false);
    assert.notEqual(statSync(file).ino, inoBefore, 'the doubling renamed a new file over the old one');
    assert.equal(capacityOf(file), 8192);

    b.refresh();
    assert.equal(b.size, 3001);
    assert.deepEqual(b.get('early'), posOf(1));
    for (let i = 0; i < 3000; i += 13) assert.deepEqual(b.get(`grown-${i}`), posOf(i));
    // And b writes into the new file, where a sees it.
    b.put('from-b', posOf(5), false);
    a.refresh();
    assert.deepEqual(a.get('from-b'), posOf(5));
    assert.equal(a.size, 3002);
  });

  it('a new instance opened after the growth finds every key', function () {
    const a = index();
    for (let i = 0; i < 2500; i++) a.put(`k${i}`, posOf(i), false);
    a.close();
    const c = index();
    assert.equal(c.size, 2500);
    for (let i = 0; i < 2500; i++) assert.deepEqual(c.get(`k${i}`), posOf(i));
  });

  it('puts two keys whose free slot was the same, found before either was added, in two slots', function () {
    // Keys whose probes start at the same slot: both lookups see the same empty slot.
    const start = (k: string) => createHash('sha256').update(k).digest().readUInt32LE(0) % INITIAL;
    const byStart = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const k = `key-${i}`;
      const other = byStart.get(start(k));
      if (other) pair = [other, k];
      else byStart.set(start(k), k);
    }
    const idx = index();
    assert.equal(idx.get(pair[0]), undefined);
    assert.equal(idx.get(pair[1]), undefined);
    assert.equal(idx.put(pair[0], posOf(1), false), true);
    assert.equal(idx.put(pair[1], posOf(2), false), true);
    const again = index();
    assert.deepEqual([again.get(pair[0]), again.get(pair[1])], [posOf(1), posOf(2)]);
    assert.equal(again.size, 2);
  });

  it('counts a reserved batch ahead in the header: a crash before settle leaves the count high, never low', function () {
    const idx = index();
    idx.reserve(10);
    for (let i = 0; i < 4; i++) idx.put(`k${i}`, posOf(i), false);
    // No settle: another instance (the next process after a crash) reads the header.
    assert.equal(index().size, 10);
    idx.settle();
    assert.equal(index().size, 4);
    // A reservation larger than half the table grows it first.
    idx.reserve(INITIAL);
    assert.equal(capacityOf(file), INITIAL * 4);
    idx.settle();
    assert.deepEqual(index().get('k3'), posOf(3));
  });

  describe('batch (slot pages read ahead and written back)', function () {
    it('answers a batch of lookups as single lookups do, hits and misses alike', function () {
      const idx = index();
      for (let i = 0; i < 1500; i++) idx.put(`k${i}`, posOf(i), false);
      const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
      const fresh = index();
      assert.deepEqual(
        fresh.getMany(keys),
        keys.map((k, i) => (i < 1500 ? posOf(i) : undefined)),
      );
    });

    it('leaves the file byte for byte as the same puts one at a time do, growth included', function () {
      const twin = join(dir, 'twin.idx');
      HashIndex.create(twin);
      const single = new HashIndex(twin);
      open.push(single);
      single.refresh();
      const batched = index();
      const keys = Array.from({ length: 3000 }, (_, i) => `t${i}`);
      for (const [i, k] of keys.entries()) single.put(k, posOf(i), false);
      batched.batch(keys, () => keys.forEach((k, i) => batched.put(k, posOf(i), false)));
      for (const [i, k] of keys.slice(0, 1000).entries()) single.put(k, posOf(9000 + i), true);
      batched.batch(keys.slice(0, 1000), () => keys.slice(0, 1000).forEach((k, i) => batched.put(k, posOf(9000 + i), true)));
      assert.equal(capacityOf(file), INITIAL * 2);
      assert.deepEqual(readFileSync(file), readFileSync(twin));
    });

    it('writes nothing to the file until the batch ends, then everything it put', function () {
      const idx = index();
      const other = index();
      idx.batch(['a', 'b'], () => {
        idx.put('a', posOf(1), false);
        idx.put('b', posOf(2), false);
        assert.equal(idx.get('a') !== undefined, true, 'the batch sees its own writes');
        assert.equal(other.get('a'), undefined, 'the file does not, yet');
      });
      assert.deepEqual([other.get('a'), other.get('b')], [posOf(1), posOf(2)]);
    });

    it('keeps the writes made before a failure inside the batch, as unbatched puts would', function () {
      const idx = index();
      assert.throws(
        () =>
          idx.batch(['a'], () => {
            idx.put('a', posOf(1), false);
            throw new Error('stop');
          }),
        /stop/,
      );
      assert.deepEqual(index().get('a'), posOf(1));
    });

    it('grows the table in the middle of a batch without losing a key put before or after', function () {
      const idx = index();
      const keys = Array.from({ length: 5000 }, (_, i) => `g${i}`);
      idx.batch(keys, () => keys.forEach((k, i) => assert.equal(idx.put(k, posOf(i), false), true)));
      assert.equal(capacityOf(file), INITIAL * 4);
      const fresh = index();
      assert.equal(fresh.size, 5000);
      assert.deepEqual(
        fresh.getMany(keys),
        keys.map((_, i) => posOf(i)),
      );
    });

    it('puts two keys whose probes start at one slot into two slots within one batch', function () {
      const start = (k: string) => createHash('sha256').update(k).digest().readUInt32LE(0) % INITIAL;
      const byStart = new Map<number, string>();
      let pair: [string, string] | undefined;
      for (let i = 0; !pair; i++) {
        const k = `c${i}`;
        const other = byStart.get(start(k));
        if (other) pair = [other, k];
        else byStart.set(start(k), k);
      }
      const idx = index();
      idx.batch(pair, () => {
        assert.deepEqual(idx.getMany(pair), [undefined, undefined]);
        idx.put(pair[0], posOf(1), false);
        idx.put(pair[1], posOf(2), false);
      });
      assert.deepEqual(index().getMany(pair), [posOf(1), posOf(2)]);
    });

    it('moves keys across the whole table in one batch (replace), leaving the others as they were', function () {
      const idx = index();
      for (let i = 0; i < 1800; i++) idx.put(`m${i}`, posOf(i), false);
      const moved = Array.from({ length: 900 }, (_, i) => `m${i * 2}`);
      const again = index();
      again.batch(moved, () => moved.forEach((k, i) => assert.equal(again.put(k, posOf(5000 + i), true), true)));
      const fresh = index();
      for (let i = 0; i < 1800; i++) assert.deepEqual(fresh.get(`m${i}`), i % 2 === 0 ? posOf(5000 + i / 2) : posOf(i), `m${i}`);
      assert.equal(fresh.size, 1800);
    });
  });

  it('refuses a file that is not a custody index with ERR_STORE_CORRUPT', function () {
    const other = join(dir, 'other.idx');
    writeFileSync(other, Buffer.alloc(HEADER + SLOT * 16));
    assert.throws(() => new HashIndex(other).refresh(), { code: 'ERR_STORE_CORRUPT' });
  });
});
