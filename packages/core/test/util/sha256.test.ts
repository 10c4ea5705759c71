import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { sha256 } from '../../src/util/sha256.js';
import { toHex, utf8 } from '../../src/util/bytes.js';

function nodeSha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('sha256 (pure TypeScript)', () => {
  it('matches the FIPS 180-4 examples "abc" and the two-block message', () => {
    assert.equal(toHex(sha256(utf8('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(
      toHex(sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    assert.equal(toHex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('agrees with node:crypto on random inputs of every length 0..300', () => {
    for (let n = 0; n <= 300; n++) {
      for (let r = 0; r < 3; r++) {
        const data = new Uint8Array(randomBytes(n));
        assert.equal(toHex(sha256(data)), nodeSha256(data), `length ${n}`);
      }
    }
  });

  it('agrees with node:crypto on large inputs and on subarray views', () => {
    for (const n of [1000, 4096, 65_537, 1_000_003]) {
      const data = new Uint8Array(randomBytes(n));
      assert.equal(toHex(sha256(data)), nodeSha256(data), `length ${n}`);
    }
    const backing = new Uint8Array(randomBytes(200));
    const view = backing.subarray(17, 150);
    assert.equal(toHex(sha256(view)), nodeSha256(view));
  });

  it('refuses a non-Uint8Array with TypeError', () => {
    assert.throws(() => sha256('abc' as unknown as Uint8Array), TypeError);
  });
});
