/**
 * RFC 6962 section 2.1 hashing (the same in RFC 9162 section 2.1.1): leaf and interior node hashes with their
 * domain-separation prefixes, and the Merkle Tree Hash (MTH) of a list of leaves by its recursive definition.
 * The tree-shape helpers here are shared by the proof and append code in this folder.
 */
import { sha256 } from '../util/sha256.js';
import { allocBytes } from '../util/slab.js';

/** A synchronous SHA-256: node's createHash on the server, the pure `sha256` (the default) elsewhere. */
export type HashFn = (data: Uint8Array) => Uint8Array;

/** Returns the hash of leaf number `index` (0-based) of a tree. */
export type LeafHashAccessor = (index: number) => Uint8Array;

/** `SHA-256(0x00 || leaf)`: the hash of one log entry (RFC 6962 2.1). */
export function leafHash(leaf: Uint8Array, hash: HashFn = sha256): Uint8Array {
  const data = allocBytes(leaf.length + 1);
  data[0] = 0x00;
  data.set(leaf, 1);
  return hash(data);
}

/** `SHA-256(0x01 || left || right)`: the hash of an interior node (RFC 6962 2.1). */
export function nodeHash(left: Uint8Array, right: Uint8Array, hash: HashFn = sha256): Uint8Array {
  const data = allocBytes(1 + left.length + right.length);
  data[0] = 0x01;
  data.set(left, 1);
  data.set(right, 1 + left.length);
  return hash(data);
}

/** The root of the empty tree, `SHA-256()` of no bytes (RFC 6962 2.1). */
export function emptyTreeHash(hash: HashFn = sha256): Uint8Array {
  return hash(new Uint8Array(0));
}

/**
 * Asserts that `n` is a non-negative safe integer (tree sizes and indexes are JavaScript numbers here).
 * @throws TypeError otherwise: a caller bug, not bad data.
 */
export function assertCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/** The largest power of two strictly smaller than `n` (n >= 2): the MTH split point `k`. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The level of `n` when it is a power of two (`n = 2^level`), else -1. */
export function powerOfTwoLevel(n: number): number {
  if (n < 1) return -1;
  let level = 0;
  let p = 1;
  while (p < n) {
    p *= 2;
    level++;
  }
  return p === n ? level : -1;
}

/**
 * MTH of the first `size` leaves, by the recursive definition of RFC 6962 2.1. It visits every leaf, O(size)
 * hashes: a reference and a batch tool; the append path (`MerkleLog`) and the proofs (`rangeHash`) avoid it.
 * @throws TypeError when `size` is not a non-negative safe integer.
 */
export function merkleTreeHead(size: number, leafHashAt: LeafHashAccessor, hash: HashFn = sha256): Uint8Array {
  assertCount(size, 'tree size');
  if (size === 0) return emptyTreeHash(hash);
  return mth(0, size, leafHashAt, hash);
}

function mth(start: number, n: number, leafHashAt: LeafHashAccessor, hash: HashFn): Uint8Array {
  if (n === 1) return leafHashAt(start);
  const k = splitPoint(n);
  return nodeHash(mth(start, k, leafHashAt, hash), mth(start + k, n - k, leafHashAt, hash), hash);
}

/** MTH of raw entries: each is leaf-hashed first. */
export function merkleTreeHeadOfEntries(entries: readonly Uint8Array[], hash: HashFn = sha256): Uint8Array {
  const hashes = entries.map((e) => leafHash(e, hash));
  return merkleTreeHead(hashes.length, (i) => hashes[i]!, hash);
}
