/**
 * The on-disk hash index: open addressing, doubling when half full, shared between instances (processes)
 * through the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  it('refuses a file that is not a custody index with ERR_STORE_CORRUPT', function () {
    const other = join(dir, 'other.idx');
    writeFileSync(other, Buffer.alloc(HEADER + SLOT * 16));
    assert.throws(() => new HashIndex(other).refresh(), { code: 'ERR_STORE_CORRUPT' });
  });
});
