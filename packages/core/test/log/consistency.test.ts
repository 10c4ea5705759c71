import assert from 'node:assert/strict';
import { consistencyProof, verifyConsistency, type ConsistencyProof } from '../../src/log/consistency.js';
import type { HashFn } from '../../src/log/merkle.js';
import { emptyTreeHash } from '../../src/log/merkle.js';
import { buildLog, fastTestHash, flip, nodeSha256, prng } from './helpers.js';

const SIZE = 1000;
type Built = ReturnType<typeof buildLog>;

/** True when verification throws ERR_LOG_CONSISTENCY (anything else thrown fails the test). */
function rejects(proof: ConsistencyProof, oldRoot: Uint8Array, newRoot: Uint8Array, hash: HashFn): boolean {
  try {
    verifyConsistency(proof, oldRoot, newRoot, hash);
    return false;
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'ERR_LOG_CONSISTENCY', String(e));
    return true;
  }
}

/** Every tampering that must make a valid non-trivial proof fail; returns the descriptions that passed. */
function tamperings(b: Built, proof: ConsistencyProof, hash: HashFn): string[] {
  const { oldSize: m, newSize: n, hashes } = proof;
  const r1 = b.roots[m]!;
  const r2 = b.roots[n]!;
  const probes: Array<[string, ConsistencyProof, Uint8Array, Uint8Array]> = [
    ['old root bit', proof, flip(r1, 3, 1), r2],
    ['new root bit', proof, r1, flip(r2, 2, 6)],
    ['roots swapped', proof, r2, r1],
    ['empty proof', { ...proof, hashes: [] }, r1, r2],
    ['last hash removed', { ...proof, hashes: hashes.slice(0, -1) }, r1, r2],
    ['first hash removed', { ...proof, hashes: hashes.slice(1) }, r1, r2],
    ['trailing new root', { ...proof, hashes: [...hashes, r2] }, r1, r2],
    ['preceding old root', { ...proof, hashes: [r1, ...hashes] }, r1, r2],
    ['preceding first hash', { ...proof, hashes: [hashes[0]!, ...hashes] }, r1, r2],
    ['old size 0', { ...proof, oldSize: 0 }, r1, r2],
    ['new size smaller than old', { ...proof, newSize: m - 1 }, r1, b.roots[m - 1]!],
  ];
  // Sizes are bound to roots by the signed checkpoints, so a changed size comes with the root of that size.
  if (m > 1) probes.push(['old size - 1 with its root', { ...proof, oldSize: m - 1 }, b.roots[m - 1]!, r2]);
  if (m + 1 < n) probes.push(['old size + 1 with its root', { ...proof, oldSize: m + 1 }, b.roots[m + 1]!, r2]);
  if (n - 1 > m) probes.push(['new size - 1 with its root', { ...proof, newSize: n - 1 }, r1, b.roots[n - 1]!]);
  if (n < SIZE) probes.push(['new size + 1 with its root', { ...proof, newSize: n + 1 }, r1, b.roots[n + 1]!]);
  for (let j = 0; j < hashes.length; j++) {
    const h = [...hashes];
    h[j] = flip(h[j]!, j % h[j]!.length, (j + 4) % 8);
    probes.push([`hash ${j} bit`, { ...proof, hashes: h }, r1, r2]);
  }
  return probes.filter(([, p, a, c]) => !rejects(p, a, c, hash)).map(([d]) => `${m} -> ${n}: ${d}`);
}

describe('consistency proofs', () => {
  it('verify for every pair of sizes up to 64', () => {
    const b = buildLog(64, fastTestHash);
    for (let m = 0; m <= 64; m++) {
      for (let n = m; n <= 64; n++) verifyConsistency(consistencyProof(b.store, m, n, fastTestHash), b.roots[m]!, b.roots[n]!, fastTestHash);
    }
  });

  it(`verify and resist tampering for 3,000 random pairs of sizes up to ${SIZE}`, () => {
    const b = buildLog(SIZE, fastTestHash);
    const rnd = prng(9162);
    const passed: string[] = [];
    for (let k = 0; k < 3000; k++) {
      const n = 2 + Math.floor(rnd() * (SIZE - 1));
      const m = 1 + Math.floor(rnd() * (n - 1));
      const proof = consistencyProof(b.store, m, n, fastTestHash);
      assert.ok(proof.hashes.length <= 2 * Math.ceil(Math.log2(n)), `${m} -> ${n}: ${proof.hashes.length} hashes`);
      verifyConsistency(proof, b.roots[m]!, b.roots[n]!, fastTestHash);
      passed.push(...tamperings(b, proof, fastTestHash));
    }
    assert.deepEqual(passed, []);
  });

  it('verify and resist tampering with SHA-256 on 300 random pairs', () => {
    const b = buildLog(SIZE, nodeSha256);
    const rnd = prng(6962);
    const passed: string[] = [];
    for (let k = 0; k < 300; k++) {
      const n = 2 + Math.floor(rnd() * (SIZE - 1));
      const m = 1 + Math.floor(rnd() * (n - 1));
      const proof = consistencyProof(b.store, m, n, nodeSha256);
      verifyConsistency(proof, b.roots[m]!, b.roots[n]!, nodeSha256);
      passed.push(...tamperings(b, proof, nodeSha256));
    }
    assert.deepEqual(passed, []);
  });

  it('treats the trivial cases strictly: same size, empty old tree, time travel', () => {
    const b = buildLog(10, nodeSha256);
    const empty = emptyTreeHash(nodeSha256);
    assert.deepEqual(consistencyProof(b.store, 7, 7, nodeSha256).hashes, []);
    assert.deepEqual(consistencyProof(b.store, 0, 7, nodeSha256).hashes, []);
    verifyConsistency({ oldSize: 7, newSize: 7, hashes: [] }, b.roots[7]!, b.roots[7]!, nodeSha256);
    verifyConsistency({ oldSize: 0, newSize: 7, hashes: [] }, empty, b.roots[7]!, nodeSha256);
    const code = { code: 'ERR_LOG_CONSISTENCY', category: 'rejected' };
    assert.throws(() => verifyConsistency({ oldSize: 7, newSize: 7, hashes: [] }, b.roots[7]!, b.roots[6]!, nodeSha256), code);
    assert.throws(() => verifyConsistency({ oldSize: 7, newSize: 7, hashes: [empty] }, b.roots[7]!, b.roots[7]!, nodeSha256), code);
    assert.throws(() => verifyConsistency({ oldSize: 0, newSize: 7, hashes: [] }, b.roots[1]!, b.roots[7]!, nodeSha256), code);
    assert.throws(() => verifyConsistency({ oldSize: 8, newSize: 7, hashes: [] }, b.roots[8]!, b.roots[7]!, nodeSha256), code);
    const p = consistencyProof(b.store, 3, 9, nodeSha256);
    assert.throws(() => verifyConsistency({ ...p, hashes: [p.hashes[0]!.subarray(1), ...p.hashes.slice(1)] }, b.roots[3]!, b.roots[9]!, nodeSha256), code);
    assert.throws(() => consistencyProof(b.store, 8, 7, nodeSha256), { code: 'ERR_LOG_RANGE' });
    assert.throws(() => consistencyProof(b.store, 1, 11, nodeSha256), { code: 'ERR_LOG_NODE_MISSING' });
  });
});
