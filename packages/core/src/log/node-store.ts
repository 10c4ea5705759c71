/**
 * Hashes of complete subtrees, the only state the proofs need. Node (level k, index i) is the root of leaves
 * [i * 2^k, (i + 1) * 2^k): level 0 holds the leaf hashes. A store that keeps every node `MerkleLog` returns
 * answers any root or proof with O(log n) lookups; a store that answers level 0 only still works, in O(n).
 */
import { assertCount, emptyTreeHash, nodeHash, powerOfTwoLevel, splitPoint, type HashFn, type LeafHashAccessor } from './merkle.js';
import { logError } from './log-errors.js';
import { sha256 } from '../util/sha256.js';

/** Read access to stored subtree hashes (the port the store package implements). */
export interface NodeStore {
  /** Hash of the complete subtree (level, index), or undefined when the store does not keep it. */
  get(level: number, index: number): Uint8Array | undefined;
}

/** One node to persist: the root of leaves [index * 2^level, (index + 1) * 2^level). */
export interface StoredNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

/** A NodeStore in memory: for tests, verifiers and small logs. */
export class MemoryNodeStore implements NodeStore {
  readonly #levels: Uint8Array[][] = [];

  get(level: number, index: number): Uint8Array | undefined {
    return this.#levels[level]?.[index];
  }

  /** Keeps `nodes` (as returned by `MerkleLog.append*`). */
  put(nodes: Iterable<StoredNode>): void {
    for (const n of nodes) (this.#levels[n.level] ??= [])[n.index] = n.hash;
  }
}

/** A NodeStore that answers level 0 from an accessor of leaf hashes and computes everything else. */
export function leafNodeStore(leafHashAt: LeafHashAccessor): NodeStore {
  return { get: (level, index) => (level === 0 ? leafHashAt(index) : undefined) };
}

/**
 * Hash of the complete subtree (level, index): a lookup, else computed from its two children.
 * @throws CustodyError ERR_LOG_NODE_MISSING when a needed leaf hash is absent.
 */
export function subtreeHash(store: NodeStore, level: number, index: number, hash: HashFn = sha256): Uint8Array {
  const stored = store.get(level, index);
  if (stored !== undefined) return stored;
  if (level === 0) throw logError('ERR_LOG_NODE_MISSING', `log store has no leaf hash for entry ${index}`);
  return nodeHash(subtreeHash(store, level - 1, index * 2, hash), subtreeHash(store, level - 1, index * 2 + 1, hash), hash);
}

/**
 * MTH of leaves [start, end) (RFC 6962 2.1 applied to that slice), with O(log n) lookups and hashes when the
 * store keeps complete subtrees. The empty range gives the empty-tree hash.
 * @throws CustodyError ERR_LOG_NODE_MISSING when a needed leaf hash is absent.
 * @throws TypeError when the bounds are not safe integers with start <= end.
 */
export function rangeHash(store: NodeStore, start: number, end: number, hash: HashFn = sha256): Uint8Array {
  assertCount(start, 'range start');
  assertCount(end, 'range end');
  if (end < start) throw new TypeError(`range [${start}, ${end}) is reversed`);
  if (end === start) return emptyTreeHash(hash);
  return rangeWalk(store, start, end - start, hash);
}

// A module-level function rather than a closure: rangeHash sits on the proof hot path.
function rangeWalk(store: NodeStore, from: number, n: number, hash: HashFn): Uint8Array {
  const level = powerOfTwoLevel(n);
  if (level >= 0 && from % n === 0) return subtreeHash(store, level, from / n, hash);
  if (n === 1) return subtreeHash(store, 0, from, hash);
  const k = splitPoint(n);
  return nodeHash(rangeWalk(store, from, k, hash), rangeWalk(store, from + k, n - k, hash), hash);
}

/** Root of the tree of the first `size` leaves. Same costs and errors as `rangeHash`. */
export function treeRoot(store: NodeStore, size: number, hash: HashFn = sha256): Uint8Array {
  return rangeHash(store, 0, size, hash);
}
