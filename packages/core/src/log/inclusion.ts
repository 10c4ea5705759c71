/**
 * Inclusion proofs: generation by PATH (RFC 6962 2.1.1) over a NodeStore, verification by the algorithm of
 * RFC 9162 2.1.3.2. A proof of a leaf in a tree of n leaves has at most ceil(log2 n) hashes (20 at a million).
 */
import { assertCount, nodeHash, splitPoint, type HashFn } from './merkle.js';
import { rangeHash, type NodeStore } from './node-store.js';
import { logError } from './log-errors.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { sha256 } from '../util/sha256.js';

/** An audit path: the sibling hashes from the leaf up to the root of a tree of `treeSize` leaves. */
export interface InclusionProof {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly hashes: readonly Uint8Array[];
}

/**
 * PATH(leafIndex, D[0:treeSize]): the inclusion proof of one leaf, with O(log n) lookups and hashes.
 * @throws CustodyError ERR_LOG_RANGE when leafIndex >= treeSize; ERR_LOG_NODE_MISSING when the store lacks a leaf.
 * @throws TypeError when an argument is not a non-negative safe integer.
 */
export function inclusionProof(store: NodeStore, leafIndex: number, treeSize: number, hash: HashFn = sha256): InclusionProof {
  assertCount(leafIndex, 'leaf index');
  assertCount(treeSize, 'tree size');
  if (leafIndex >= treeSize) throw logError('ERR_LOG_RANGE', `no leaf ${leafIndex} in a tree of ${treeSize}`);
  const hashes: Uint8Array[] = [];
  // Walk down from the root; siblings are met root first, so prepend.
  let start = 0;
  let n = treeSize;
  while (n > 1) {
    const k = splitPoint(n);
    if (leafIndex < start + k) {
      hashes.unshift(rangeHash(store, start + k, start + n, hash));
      n = k;
    } else {
      hashes.unshift(rangeHash(store, start, start + k, hash));
      start += k;
      n -= k;
    }
  }
  return { leafIndex, treeSize, hashes };
}

/**
 * The root that `proof` and `leafHash` imply (RFC 9162 2.1.3.2 steps 1 to 6, without the final comparison).
 * @throws CustodyError ERR_LOG_PROOF when the index is outside the tree, a hash has the wrong length, or the
 * proof has too many or too few hashes.
 * @throws TypeError when the index or size is not a non-negative safe integer.
 */
export function rootFromInclusionProof(leafHash: Uint8Array, proof: InclusionProof, hash: HashFn = sha256): Uint8Array {
  const { leafIndex, treeSize, hashes } = proof;
  assertCount(leafIndex, 'leaf index');
  assertCount(treeSize, 'tree size');
  const what = `inclusion proof of leaf ${leafIndex} in a tree of ${treeSize}`;
  if (leafIndex >= treeSize) throw logError('ERR_LOG_PROOF', `${what}: the leaf is outside the tree`);
  for (const [i, h] of hashes.entries()) {
    if (h.length !== leafHash.length) throw logError('ERR_LOG_PROOF', `${what}: hash ${i} has ${h.length} bytes`);
  }
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of hashes) {
    if (sn === 0) throw logError('ERR_LOG_PROOF', `${what}: ${hashes.length} hashes is too many`);
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r, hash);
      // A left-edge node with no right sibling at this level: climb until it is a right child (or the root side).
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p, hash);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw logError('ERR_LOG_PROOF', `${what}: ${hashes.length} hashes is too few`);
  return r;
}

/**
 * Checks that `leafHash` is leaf `proof.leafIndex` of the tree of `proof.treeSize` leaves with root `root`.
 * @throws CustodyError ERR_LOG_PROOF when it is not (or the proof is malformed).
 * @throws TypeError when the index or size is not a non-negative safe integer.
 */
export function verifyInclusion(leafHash: Uint8Array, proof: InclusionProof, root: Uint8Array, hash: HashFn = sha256): void {
  const computed = rootFromInclusionProof(leafHash, proof, hash);
  if (!equalBytes(computed, root)) {
    throw logError(
      'ERR_LOG_PROOF',
      `inclusion proof of leaf ${proof.leafIndex} in a tree of ${proof.treeSize}: computed root ${toHex(computed)} is not ${toHex(root)}`,
    );
  }
}
