import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { emptyTreeHash, leafHash, merkleTreeHead, merkleTreeHeadOfEntries, nodeHash, splitPoint } from '../../src/log/merkle.js';
import { leafNodeStore, rangeHash, subtreeHash, treeRoot } from '../../src/log/node-store.js';
import { inclusionProof, verifyInclusion } from '../../src/log/inclusion.js';
import { consistencyProof, verifyConsistency } from '../../src/log/consistency.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/sha256.js';
import { buildLog, nodeSha256 } from './helpers.js';
import { CONSISTENCY_VECTORS, INCLUSION_VECTORS, LEAVES_HEX, ROOTS_HEX } from './vectors.js';

/** SHA-256 computed by another program: `openssl dgst -sha256 -binary`. */
function opensslSha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: data }));
}

describe('RFC 6962 hashing', () => {
  const vectorLeaves = LEAVES_HEX.map((h) => fromHex(h));

  it('gives the published roots for the first 1..8 standard leaves (transparency-dev/merkle vectors)', () => {
    for (let n = 1; n <= 8; n++) {
      assert.equal(toHex(merkleTreeHeadOfEntries(vectorLeaves.slice(0, n))), ROOTS_HEX[n - 1], `size ${n}`);
    }
  });

  it('reproduces the published inclusion and consistency proofs byte for byte', () => {
    const hashes = vectorLeaves.map((l) => leafHash(l));
    const store = leafNodeStore((i) => hashes[i]!);
    for (const v of INCLUSION_VECTORS) {
      const p = inclusionProof(store, v.leafIndex, v.treeSize);
      assert.deepEqual(p.hashes.map(toHex), v.proof, `leaf ${v.leafIndex} of ${v.treeSize}`);
      verifyInclusion(hashes[v.leafIndex]!, { ...v, hashes: v.proof.map((h) => fromHex(h)) }, fromHex(ROOTS_HEX[v.treeSize - 1]!));
    }
    for (const v of CONSISTENCY_VECTORS) {
      const p = consistencyProof(store, v.oldSize, v.newSize);
      assert.deepEqual(p.hashes.map(toHex), v.proof, `${v.oldSize} -> ${v.newSize}`);
      const proof = { oldSize: v.oldSize, newSize: v.newSize, hashes: v.proof.map((h) => fromHex(h)) };
      verifyConsistency(proof, fromHex(ROOTS_HEX[v.oldSize - 1]!), fromHex(ROOTS_HEX[v.newSize - 1]!));
    }
  });

  it('agrees with leaf and node hashes recomputed by openssl for a 7-leaf tree', () => {
    const entries = Array.from({ length: 7 }, (_, i) => utf8(`attestation ${i}`));
    const leaf = (e: Uint8Array) => opensslSha256(Uint8Array.of(0x00, ...e));
    const node = (l: Uint8Array, r: Uint8Array) => opensslSha256(Uint8Array.of(0x01, ...l, ...r));
    const L = entries.map(leaf);
    for (const [i, e] of entries.entries()) assert.deepEqual(leafHash(e), L[i]);
    // MTH of 7 = H(H(H(0,1), H(2,3)), H(H(4,5), 6)), the split at 4 then 2 written out by hand.
    const expected = node(node(node(L[0]!, L[1]!), node(L[2]!, L[3]!)), node(node(L[4]!, L[5]!), L[6]!));
    assert.deepEqual(merkleTreeHeadOfEntries(entries), expected);
    assert.deepEqual(merkleTreeHeadOfEntries(entries, nodeSha256), expected);
    assert.deepEqual(emptyTreeHash(), opensslSha256(new Uint8Array(0)));
  });

  it('gives the empty-tree hash for size 0 and the leaf hash for size 1', () => {
    assert.equal(toHex(merkleTreeHead(0, () => assert.fail('no leaf to read'))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const h = leafHash(utf8('x'));
    assert.deepEqual(
      merkleTreeHead(1, () => h),
      h,
    );
  });

  it('computes any range root from a store of complete subtrees, or from leaves alone', () => {
    const { store, leaves, roots } = buildLog(100, sha256);
    const leafOnly = leafNodeStore((i) => leaves[i]!);
    for (let n = 0; n <= 100; n++) {
      assert.deepEqual(treeRoot(store, n), roots[n], `stored, size ${n}`);
      assert.deepEqual(treeRoot(leafOnly, n), roots[n], `leaves only, size ${n}`);
    }
    assert.deepEqual(
      rangeHash(store, 3, 10),
      merkleTreeHead(7, (i) => leaves[3 + i]!),
    );
    assert.deepEqual(subtreeHash(leafOnly, 3, 1), subtreeHash(store, 3, 1));
    assert.deepEqual(subtreeHash(store, 1, 0), nodeHash(leaves[0]!, leaves[1]!));
  });

  it('names the missing leaf with ERR_LOG_NODE_MISSING', () => {
    const store = leafNodeStore(() => undefined as unknown as Uint8Array);
    assert.throws(() => treeRoot(store, 5), { code: 'ERR_LOG_NODE_MISSING', category: 'io' });
  });

  it('splits at the largest power of two strictly smaller than n', () => {
    assert.deepEqual([2, 3, 4, 5, 8, 9, 1000, 1024, 1025].map(splitPoint), [1, 2, 2, 4, 4, 8, 512, 512, 1024]);
    assert.equal(splitPoint(2 ** 52 + 1), 2 ** 52);
  });

  it('refuses negative, fractional and unsafe sizes with TypeError', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => merkleTreeHead(bad, () => new Uint8Array(32)), TypeError);
    assert.throws(
      () =>
        rangeHash(
          leafNodeStore(() => new Uint8Array(32)),
          5,
          4,
        ),
      TypeError,
    );
  });
});
