/** Shared helpers for the log tests: hash functions and logs built once, incrementally. */
import { createHash } from 'node:crypto';
import type { HashFn } from '../../src/log/merkle.js';
import { MerkleLog } from '../../src/log/merkle-log.js';
import { MemoryNodeStore } from '../../src/log/node-store.js';

/** SHA-256 through node:crypto, as the server passes it. */
export const nodeSha256: HashFn = (data) => {
  const d = createHash('sha256').update(data).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

/**
 * A fast 64-bit test hash for the exhaustive sweeps (the tree maths do not depend on which hash is used; the
 * SHA-256 tests run on samples). Each lane is FNV-1a style with an odd multiplier, a bijection per byte, so two
 * inputs of equal length that differ in one byte always differ in the output.
 */
export const fastTestHash: HashFn = (data) => {
  let a = 0x811c9dc5 ^ data.length;
  let b = 0x3243f6a8 ^ data.length;
  for (let i = 0; i < data.length; i++) {
    a = Math.imul(a ^ data[i]!, 0x01000193);
    b = Math.imul(b ^ data[i]!, 0x5bd1e995) ^ (b >>> 13);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  b = Math.imul(b ^ (b >>> 15), 0xc2b2ae35) ^ a;
  a ^= a >>> 13;
  b ^= b >>> 16;
  return Uint8Array.of(a >>> 24, a >>> 16, a >>> 8, a, b >>> 24, b >>> 16, b >>> 8, b);
};

/** Counts the calls made through a HashFn. */
export function countingHash(inner: HashFn): { hash: HashFn; calls: () => number } {
  let n = 0;
  return {
    hash: (d) => {
      n++;
      return inner(d);
    },
    calls: () => n,
  };
}

export interface BuiltLog {
  store: MemoryNodeStore;
  log: MerkleLog;
  /** Leaf hashes, by index. */
  leaves: Uint8Array[];
  /** roots[n] = root of the first n leaves, 0..size. */
  roots: Uint8Array[];
}

/** A log of `size` entries (entry i = the 4 bytes of i), every node stored, every root recorded. */
export function buildLog(size: number, hash: HashFn): BuiltLog {
  const store = new MemoryNodeStore();
  const log = new MerkleLog(undefined, hash);
  const leaves: Uint8Array[] = [];
  const roots = [log.root()];
  for (let i = 0; i < size; i++) {
    const entry = new Uint8Array(4);
    new DataView(entry.buffer).setUint32(0, i);
    const nodes = log.appendEntry(entry);
    store.put(nodes);
    leaves.push(nodes[0]!.hash);
    roots.push(log.root());
  }
  return { store, log, leaves, roots };
}

/** A copy of `b` with bit `bit` of byte `i` flipped. */
export function flip(b: Uint8Array, i = 0, bit = 0): Uint8Array {
  const c = b.slice();
  c[i]! ^= 1 << bit;
  return c;
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
