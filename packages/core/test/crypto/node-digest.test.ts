import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { nodeDigest, nodeSha256 } from '../../src/crypto/node-provider.js';

describe('nodeDigest', () => {
  it('equals createHash for SHA-256 and SHA-384, of views into larger buffers and of lengths 0 to 2,000', () => {
    const big = randomBytes(4096);
    for (const alg of ['sha256', 'sha384']) {
      for (const n of [0, 1, 31, 32, 55, 64, 65, 1400, 2000]) {
        const view = new Uint8Array(big.buffer, big.byteOffset + 17, n);
        const got = nodeDigest(alg, view);
        assert.equal(got.toString('hex'), createHash(alg).update(view).digest('hex'), `${alg} of ${n} bytes`);
        assert.equal(got.length, alg === 'sha256' ? 32 : 48);
      }
    }
  });

  it('hashes a string as its UTF-8, bytes past 0x7f included in the digest', () => {
    for (const s of ['H0000001', 'Müller-0042', '深圳-7', ''])
      assert.equal(nodeDigest('sha256', s).toString('hex'), createHash('sha256').update(s, 'utf8').digest('hex'));
    // A digest byte of 0x80 or more survives the Latin-1 round trip (a UTF-8 one would not).
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) for (const b of nodeSha256(new Uint8Array([i]))) seen.add(b);
    assert.ok([...seen].some((b) => b >= 0x80));
    for (let i = 0; i < 64; i++)
      assert.deepEqual(
        nodeSha256(new Uint8Array([i])),
        createHash('sha256')
          .update(new Uint8Array([i]))
          .digest(),
      );
  });
});
