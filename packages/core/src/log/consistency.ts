/**
 * Consistency proofs: generation by PROOF/SUBPROOF (RFC 6962 2.1.2) over a NodeStore, verification by the
 * algorithm of RFC 9162 2.1.4.2. A proof between any two sizes has O(log n) hashes.
 */
import { assertCount, emptyTreeHash, nodeHash, powerOfTwoLevel, splitPoint, type HashFn } from './merkle.js';
import { rangeHash, type NodeStore } from './node-store.js';
import { logError } from './log-errors.js';
import { equalBytes } from '../util/bytes.js';
import { sha256 } from '../util/sha256.js';

/** The hashes proving that the tree of `oldSize` leaves is a prefix of the tree of `newSize` leaves. */
export interface ConsistencyProof {
  readonly oldSize: number;
  readonly newSize: number;
  readonly hashes: readonly Uint8Array[];
}

/**
 * PROOF(oldSize, D[0:newSize]); empty when oldSize is 0 or equals newSize.
 * @throws CustodyError ERR_LOG_RANGE when oldSize > newSize; ERR_LOG_NODE_MISSING when the store lacks a leaf.
 * @throws TypeError when a size is not a non-negative safe integer.
 */
export function consistencyProof(store: NodeStore, oldSize: number, newSize: number, hash: HashFn = sha256): ConsistencyProof {
  assertCount(oldSize, 'old tree size');
  assertCount(newSize, 'new tree size');
  if (oldSize > newSize) throw logError('ERR_LOG_RANGE', `no consistency proof from ${oldSize} leaves back to ${newSize}`);
  const hashes: Uint8Array[] = [];
  if (oldSize === 0 || oldSize === newSize) return { oldSize, newSize, hashes };
  // SUBPROOF(m, D[start:start+n], b), unrolled: siblings are met root first, so prepend.
  let m = oldSize;
  let start = 0;
  let n = newSize;
  let complete = true;
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      hashes.unshift(rangeHash(store, start + k, start + n, hash));
      n = k;
    } else {
      hashes.unshift(rangeHash(store, start, start + k, hash));
      start += k;
      m -= k;
      n -= k;
      complete = false;
    }
  }
  // The old tree's root is only left out when it is itself a node of the proof path (b still true).
  if (!complete) hashes.unshift(rangeHash(store, start, start + n, hash));
  return { oldSize, newSize, hashes };
}

function fail(proof: ConsistencyProof, why: string): Error {
  return logError('ERR_LOG_CONSISTENCY', `consistency proof from ${proof.oldSize} to ${proof.newSize} leaves: ${why}`);
}

/**
 * Checks that the tree of `proof.oldSize` leaves with root `oldRoot` is a prefix of the tree of `proof.newSize`
 * leaves with root `newRoot`. Equal sizes need equal roots and an empty proof; size 0 needs the empty-tree root.
 * @throws CustodyError ERR_LOG_CONSISTENCY when it is not (or the proof is malformed).
 * @throws TypeError when a size is not a non-negative safe integer.
 */
export function verifyConsistency(proof: ConsistencyProof, oldRoot: Uint8Array, newRoot: Uint8Array, hash: HashFn = sha256): void {
  const { oldSize, newSize, hashes } = proof;
  assertCount(oldSize, 'old tree size');
  assertCount(newSize, 'new tree size');
  if (oldSize > newSize) throw fail(proof, 'the old tree is larger');
  if (oldSize === newSize || oldSize === 0) {
    if (hashes.length !== 0) throw fail(proof, 'expected an empty proof');
    if (oldSize === 0 && !equalBytes(oldRoot, emptyTreeHash(hash))) throw fail(proof, 'the old root is not the empty-tree hash');
    if (oldSize === newSize && !equalBytes(oldRoot, newRoot)) throw fail(proof, 'same size, different roots');
    return;
  }
  if (hashes.length === 0) throw fail(proof, 'the proof is empty');
  for (const [i, h] of hashes.entries()) if (h.length !== newRoot.length) throw fail(proof, `hash ${i} has ${h.length} bytes`);
  // RFC 9162 2.1.4.2: a power-of-two old tree is a node of the new one, so its root starts the path.
  const path = powerOfTwoLevel(oldSize) >= 0 ? [oldRoot, ...hashes] : [...hashes];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw fail(proof, 'too many hashes');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr, hash);
      sr = nodeHash(c, sr, hash);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c, hash);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw fail(proof, 'too few hashes');
  if (!equalBytes(fr, oldRoot)) throw fail(proof, 'the proof does not lead to the old root');
  if (!equalBytes(sr, newRoot)) throw fail(proof, 'the proof does not lead to the new root');
}
