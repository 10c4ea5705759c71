import assert from 'node:assert/strict';
import { allocBytes, utf8Bytes } from '../../src/util/slab.js';
import { fromUtf8 } from '../../src/util/bytes.js';

/** True when the byte ranges of two views of one buffer overlap. */
function overlap(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

describe('slab allocation', () => {
  it('hands out zeroed arrays of the asked length that never overlap, across slab boundaries', () => {
    const got: Uint8Array[] = [];
    // 1,400-byte arrays fill several 64 KiB slabs; each is filled after the check, so a reused byte would show.
    for (let i = 0; i < 200; i++) {
      const a = allocBytes(i % 7 === 0 ? 1 : 1400);
      assert.equal(a.length, i % 7 === 0 ? 1 : 1400);
      assert.ok(
        a.every((b) => b === 0),
        `array ${i} starts at zero`,
      );
      a.fill(0xff);
      got.push(a);
    }
    assert.ok(new Set(got.map((a) => a.buffer)).size > 1, 'more than one slab was used');
    for (let i = 0; i < got.length; i++) for (let j = i + 1; j < got.length; j++) assert.ok(!overlap(got[i]!, got[j]!), `arrays ${i} and ${j} overlap`);
    assert.ok(
      got.every((a) => a.byteOffset % 8 === 0),
      'offsets are 8-byte aligned',
    );
  });

  it('gives a large array a buffer of its own', () => {
    const a = allocBytes(100_000);
    assert.equal(a.byteOffset, 0);
    assert.equal(a.buffer.byteLength, 100_000);
  });

  it('encodes UTF-8 as TextEncoder does, including multi-byte and astral characters, small and large', () => {
    const enc = new TextEncoder();
    for (const s of ['', 'abc', 'Müller GmbH', '深圳工厂', 'emoji 🔐 key', '\u{10FFFF}', 'x'.repeat(5000) + 'é'.repeat(2000)]) {
      const b = utf8Bytes(s);
      assert.deepEqual([...b], [...enc.encode(s)], JSON.stringify(s.slice(0, 20)));
      assert.equal(fromUtf8(b), s);
    }
  });

  it('does not let encoded strings overlap the arrays after them', () => {
    const s = utf8Bytes('é'.repeat(10)); // 20 bytes written where up to 30 were reserved
    const next = allocBytes(16);
    assert.ok(!overlap(s, next));
    assert.ok(next.every((b) => b === 0));
    assert.equal(fromUtf8(s), 'é'.repeat(10));
  });
});
