/**
 * The append side of the log: a compact range (the "frontier", the right edge of the tree) holding one perfect
 * subtree root per set bit of the tree size, largest first. Appending a leaf costs 1 + (trailing ones of the
 * size) hashes, O(log n) at worst and 2 on average, whatever the size; the root costs popcount(size) - 1 more.
 * Nothing here reads the store, so the hot path never rescans it.
 */
import { assertCount, emptyTreeHash, leafHash, nodeHash, type HashFn } from './merkle.js';
import { subtreeHash, type NodeStore, type StoredNode } from './node-store.js';
import { logError } from './log-errors.js';
import { sha256 } from '../util/sha256.js';

/** The persisted state of a `MerkleLog`: the tree size and its perfect subtree roots, left to right. */
export interface Frontier {
  readonly size: number;
  readonly hashes: readonly Uint8Array[];
}

/** Set bits of `n`, highest first, as levels (the perfect subtrees making up a tree of n leaves). */
function frontierLevels(n: number): number[] {
  const levels: number[] = [];
  for (let level = 0, rest = n; rest > 0; level++, rest = Math.floor(rest / 2)) if (rest % 2 === 1) levels.push(level);
  return levels.reverse();
}

/** An append-only Merkle tree kept as its frontier; every append returns the new complete-subtree nodes. */
export class MerkleLog {
  #size: number;
  readonly #stack: Uint8Array[];
  readonly #hash: HashFn;

  /**
   * A log at `frontier` (the empty log by default).
   * @throws TypeError when the frontier has not exactly one hash per set bit of its size.
   */
  constructor(frontier: Frontier = { size: 0, hashes: [] }, hash: HashFn = sha256) {
    assertCount(frontier.size, 'tree size');
    const want = frontierLevels(frontier.size).length;
    if (frontier.hashes.length !== want) {
      throw new TypeError(`a frontier of size ${frontier.size} has ${want} hashes, got ${frontier.hashes.length}`);
    }
    this.#size = frontier.size;
    this.#stack = [...frontier.hashes];
    this.#hash = hash;
  }

  /**
   * Rebuilds the frontier of a tree of `size` leaves from a store: popcount(size) lookups.
   * @throws CustodyError ERR_LOG_NODE_MISSING when the store lacks the leaves under a frontier node.
   */
  static fromStore(store: NodeStore, size: number, hash: HashFn = sha256): MerkleLog {
    assertCount(size, 'tree size');
    const hashes: Uint8Array[] = [];
    let start = 0;
    for (const level of frontierLevels(size)) {
      const width = 2 ** level;
      hashes.push(subtreeHash(store, level, start / width, hash));
      start += width;
    }
    return new MerkleLog({ size, hashes }, hash);
  }

  /** Number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** A copy of the state to persist beside the nodes. */
  frontier(): Frontier {
    return { size: this.#size, hashes: [...this.#stack] };
  }

  /** Appends one entry (leaf-hashed here); returns the nodes to persist, the leaf first. */
  appendEntry(entry: Uint8Array): StoredNode[] {
    return this.appendLeafHash(leafHash(entry, this.#hash));
  }

  /**
   * Appends one leaf hash; returns the nodes to persist: the leaf (level 0) and every subtree it completes.
   * @throws CustodyError ERR_LOG_RANGE when the tree already holds 2^53 - 1 leaves.
   */
  appendLeafHash(hash: Uint8Array): StoredNode[] {
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw logError('ERR_LOG_RANGE', 'log is full');
    const nodes: StoredNode[] = [{ level: 0, index: this.#size, hash }];
    let node = hash;
    let index = this.#size;
    let level = 0;
    // An odd index is a right child: its left sibling is the last frontier entry, and their parent is complete.
    while (index % 2 === 1) {
      node = nodeHash(this.#stack.pop()!, node, this.#hash);
      index = (index - 1) / 2;
      level++;
      nodes.push({ level, index, hash: node });
    }
    this.#stack.push(node);
    this.#size++;
    return nodes;
  }

  /** The current root: MTH of all leaves (the empty-tree hash for no leaves). */
  root(): Uint8Array {
    if (this.#stack.length === 0) return emptyTreeHash(this.#hash);
    let root = this.#stack[this.#stack.length - 1]!;
    for (let i = this.#stack.length - 2; i >= 0; i--) root = nodeHash(this.#stack[i]!, root, this.#hash);
    return root;
  }
}
