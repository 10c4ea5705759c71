import assert from 'node:assert/strict';
import { inclusionProof, rootFromInclusionProof, verifyInclusion, type InclusionProof } from '../../src/log/inclusion.js';
import { MerkleLog } from '../../src/log/merkle-log.js';
import { treeRoot, type NodeStore, type StoredNode } from '../../src/log/node-store.js';
import type { HashFn } from '../../src/log/merkle.js';
import { equalBytes } from '../../src/util/bytes.js';
import { buildLog, fastTestHash, flip, nodeSha256, prng } from './helpers.js';

const SIZE = 1000;

/**
 * True when the proof is refused: ERR_LOG_PROOF thrown (anything else thrown fails the test) or a computed root
 * other than `root`. The root comparison stands in for verifyInclusion's own (which only adds the throw) so that
 * the sweep does not build half a million error objects.
 */
function rejects(leaf: Uint8Array, proof: InclusionProof, root: Uint8Array, hash: HashFn): boolean {
  try {
    return !equalBytes(rootFromInclusionProof(leaf, proof, hash), root);
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'ERR_LOG_PROOF', String(e));
    return true;
  }
}

/** Every tampering of one field that must make a valid proof fail; returns the descriptions that passed. */
function tamperings(b: ReturnType<typeof buildLog>, i: number, n: number, proof: InclusionProof, hash: HashFn): string[] {
  const { leaves, roots } = b;
  const root = roots[n]!;
  const leaf = leaves[i]!;
  const probes: Array<[string, Uint8Array, InclusionProof, Uint8Array]> = [
    ['leaf hash bit', flip(leaf, 5, 3), proof, root],
    ['other leaf', leaves[(i + 1) % n]!, proof, root],
    ['root bit', leaf, proof, flip(root, 0, 7)],
    ['root of another size', leaf, proof, roots[n - 1]!],
    ['trailing hash', leaf, { ...proof, hashes: [...proof.hashes, root] }, root],
    ['preceding hash', leaf, { ...proof, hashes: [leaf, ...proof.hashes] }, root],
    ['index = size', leaf, { ...proof, leafIndex: n }, root],
  ];
  if (i > 0) probes.push(['index - 1', leaf, { ...proof, leafIndex: i - 1 }, root]);
  if (i + 1 < n) probes.push(['index + 1', leaf, { ...proof, leafIndex: i + 1 }, root]);
  if ((i ^ 2) < n) probes.push(['index ^ 2', leaf, { ...proof, leafIndex: i ^ 2 }, root]);
  // A size change alone may keep the same path shape; the signed checkpoint binds size and root together,
  // so the size is changed with the root of that size.
  if (n > i + 1) probes.push(['size - 1 with its root', leaf, { ...proof, treeSize: n - 1 }, roots[n - 1]!]);
  if (n < SIZE) probes.push(['size + 1 with its root', leaf, { ...proof, treeSize: n + 1 }, roots[n + 1]!]);
  if (proof.hashes.length > 0) probes.push(['last hash removed', leaf, { ...proof, hashes: proof.hashes.slice(0, -1) }, root]);
  for (let j = 0; j < proof.hashes.length; j++) {
    const hashes = [...proof.hashes];
    hashes[j] = flip(hashes[j]!, j % hashes[j]!.length, j % 8);
    probes.push([`hash ${j} bit`, leaf, { ...proof, hashes }, root]);
    if (proof.hashes.length > 1) {
      const swapped = [...proof.hashes];
      [swapped[j], swapped[(j + 1) % swapped.length]] = [swapped[(j + 1) % swapped.length]!, swapped[j]!];
      probes.push([`hashes ${j} and ${j + 1} swapped`, leaf, { ...proof, hashes: swapped }, root]);
    }
  }
  return probes.filter(([, l, p, r]) => !rejects(l, p, r, hash)).map(([d]) => `leaf ${i} of ${n}: ${d}`);
}

describe('inclusion proofs', () => {
  it(`verify for every tree size 1..${SIZE} and every leaf, with at most ceil(log2 n) hashes`, () => {
    const b = buildLog(SIZE, fastTestHash);
    let checked = 0;
    for (let n = 1; n <= SIZE; n++) {
      const maxLen = Math.ceil(Math.log2(n));
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(b.store, i, n, fastTestHash);
        assert.ok(proof.hashes.length <= maxLen, `leaf ${i} of ${n}: ${proof.hashes.length} hashes`);
        verifyInclusion(b.leaves[i]!, proof, b.roots[n]!, fastTestHash);
        checked++;
      }
    }
    assert.equal(checked, (SIZE * (SIZE + 1)) / 2);
  });

  it('fail for every tampered hash, leaf, index, size or root (a sample of 1 in 61 proofs)', () => {
    const b = buildLog(SIZE, fastTestHash);
    const passed: string[] = [];
    for (let n = 1; n <= SIZE; n++) {
      for (let i = (n * 7) % 61; i < n; i += 61) passed.push(...tamperings(b, i, n, inclusionProof(b.store, i, n, fastTestHash), fastTestHash));
    }
    assert.deepEqual(passed, []);
  });

  it('verify and resist tampering with SHA-256 on random (size, leaf) pairs', () => {
    const b = buildLog(SIZE, nodeSha256);
    const rnd = prng(6962);
    const passed: string[] = [];
    for (let k = 0; k < 2000; k++) {
      const n = 1 + Math.floor(rnd() * SIZE);
      const i = Math.floor(rnd() * n);
      const proof = inclusionProof(b.store, i, n, nodeSha256);
      verifyInclusion(b.leaves[i]!, proof, b.roots[n]!, nodeSha256);
      if (k % 10 === 0) {
        passed.push(...tamperings(b, i, n, proof, nodeSha256));
        assert.throws(() => verifyInclusion(b.leaves[i]!, proof, flip(b.roots[n]!), nodeSha256), { code: 'ERR_LOG_PROOF' });
      }
    }
    assert.deepEqual(passed, []);
  });

  it('has about 20 hashes at 1,000,000 entries and costs O(log n) store lookups to make', () => {
    const n = 1_000_000;
    // A compact store: 8-byte test hashes packed per level, about 16 MB for the whole tree.
    const levels: Uint8Array[] = [];
    const log = new MerkleLog(undefined, fastTestHash);
    const put = (node: StoredNode) => {
      const width = n >>> node.level;
      const level = (levels[node.level] ??= new Uint8Array(Math.max(width, 1) * 8));
      level.set(node.hash, node.index * 8);
    };
    for (let i = 0; i < n; i++) for (const node of log.appendEntry(Uint8Array.of(i & 255, (i >>> 8) & 255, i >>> 16))) put(node);
    let lookups = 0;
    const store: NodeStore = {
      get(level, index) {
        lookups++;
        const l = levels[level];
        return l && index * 8 < l.length ? l.subarray(index * 8, index * 8 + 8) : undefined;
      },
    };
    const root = log.root();
    assert.deepEqual(treeRoot(store, n, fastTestHash), root);
    for (const i of [0, 1, 524_287, 524_288, 999_998, 999_999]) {
      lookups = 0;
      const proof = inclusionProof(store, i, n, fastTestHash);
      // ceil(log2 1e6) = 20: every leaf of the left 2^19 subtree needs 20; those in the ragged right edge fewer.
      const want = i < 524_288 ? 20 : proof.hashes.length;
      assert.ok(proof.hashes.length === want && want <= 20, `leaf ${i}: ${proof.hashes.length} hashes`);
      assert.ok(lookups <= 40, `leaf ${i}: ${lookups} lookups`);
      const leaf = store.get(0, i)!;
      verifyInclusion(leaf, proof, root, fastTestHash);
    }
  });

  it('refuses malformed proofs and out-of-range requests with their codes', () => {
    const { store, leaves, roots } = buildLog(8, nodeSha256);
    const proof = inclusionProof(store, 3, 8, nodeSha256);
    const short = { ...proof, hashes: [proof.hashes[0]!.subarray(0, 31), ...proof.hashes.slice(1)] };
    assert.throws(() => rootFromInclusionProof(leaves[3]!, short, nodeSha256), { code: 'ERR_LOG_PROOF', category: 'rejected' });
    assert.throws(() => verifyInclusion(leaves[3]!, { ...proof, treeSize: 0 }, roots[8]!, nodeSha256), { code: 'ERR_LOG_PROOF' });
    assert.throws(() => inclusionProof(store, 8, 8, nodeSha256), { code: 'ERR_LOG_RANGE' });
    assert.throws(() => inclusionProof(store, -1, 8, nodeSha256), TypeError);
    assert.deepEqual(inclusionProof(store, 0, 1, nodeSha256).hashes, []);
    verifyInclusion(leaves[0]!, { leafIndex: 0, treeSize: 1, hashes: [] }, leaves[0]!, nodeSha256);
  });
});
