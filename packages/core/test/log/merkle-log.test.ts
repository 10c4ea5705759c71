import assert from 'node:assert/strict';
import { MerkleLog } from '../../src/log/merkle-log.js';
import { emptyTreeHash, leafHash, merkleTreeHead } from '../../src/log/merkle.js';
import { MemoryNodeStore, subtreeHash } from '../../src/log/node-store.js';
import { sha256 } from '../../src/util/sha256.js';
import { countingHash, fastTestHash, nodeSha256 } from './helpers.js';

function entry(i: number): Uint8Array {
  return Uint8Array.of(i >>> 24, i >>> 16, i >>> 8, i);
}

/** Hash calls per append (with the new root computed each time) over `window` appends after `start`. */
function appendCost(start: number, window: number): { mean: number; max: number } {
  const counter = countingHash(fastTestHash);
  const log = new MerkleLog(undefined, counter.hash);
  for (let i = 0; i < start; i++) log.appendEntry(entry(i));
  let total = 0;
  let max = 0;
  for (let i = start; i < start + window; i++) {
    const before = counter.calls();
    log.appendEntry(entry(i));
    log.root();
    const cost = counter.calls() - before;
    total += cost;
    max = Math.max(max, cost);
  }
  return { mean: total / window, max };
}

describe('MerkleLog (appends on the frontier)', () => {
  it('gives the batch MTH root along 1,000 appends, with the default pure SHA-256 too', () => {
    for (const hash of [nodeSha256, sha256]) {
      const log = new MerkleLog(undefined, hash);
      const leaves: Uint8Array[] = [];
      assert.deepEqual(log.root(), emptyTreeHash(hash));
      for (let i = 0; i < 1000; i++) {
        const nodes = log.appendEntry(entry(i));
        leaves.push(leafHash(entry(i), hash));
        assert.deepEqual(nodes[0], { level: 0, index: i, hash: leaves[i] });
        if ((hash === nodeSha256 && (i < 200 || i % 37 === 0)) || i % 97 === 0)
          assert.deepEqual(
            log.root(),
            merkleTreeHead(i + 1, (k) => leaves[k]!, hash),
            `size ${i + 1}`,
          );
      }
      assert.equal(log.size, 1000);
    }
  });

  it('returns exactly the complete subtrees each append finishes', () => {
    const log = new MerkleLog(undefined, nodeSha256);
    const store = new MemoryNodeStore();
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const nodes = log.appendEntry(entry(i));
      // Leaf i completes one node per trailing one bit of i.
      let ones = 0;
      for (let x = i; x % 2 === 1; x = (x - 1) / 2) ones++;
      assert.equal(nodes.length, 1 + ones, `append ${i}`);
      for (const n of nodes) {
        const key = `${n.level}/${n.index}`;
        assert.ok(!seen.has(key), `node ${key} returned twice`);
        seen.add(key);
        assert.equal((n.index + 1) * 2 ** n.level, i + 1, `node ${key} ends at the new leaf`);
      }
      store.put(nodes);
    }
    // Every returned interior node is the hash of its stored children.
    const leafOnly = { get: (level: number, index: number) => (level === 0 ? store.get(0, index) : undefined) };
    for (const key of seen) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      assert.deepEqual(store.get(level, index), subtreeHash(leafOnly, level, index, nodeSha256), key);
    }
  });

  it('costs O(log n) hashes per append: at 100,000 entries no more than twice the cost at 1,000', () => {
    const small = appendCost(1000, 1024);
    const large = appendCost(100_000, 1024);
    assert.ok(large.mean <= 2 * small.mean, `mean ${large.mean} at 100k vs ${small.mean} at 1k`);
    assert.ok(large.max <= 2 * small.max, `max ${large.max} at 100k vs ${small.max} at 1k`);
    // Appending alone (no root) averages two hashes: the leaf and, on average, one completed parent.
    assert.ok(small.mean < 2 + Math.log2(1000) && large.mean < 2 + Math.log2(101_024));
  });

  it('resumes from a saved frontier or from the store with the same roots ahead', () => {
    const a = new MerkleLog(undefined, nodeSha256);
    const store = new MemoryNodeStore();
    for (let i = 0; i < 777; i++) store.put(a.appendEntry(entry(i)));
    const saved = a.frontier();
    assert.equal(saved.hashes.length, 4); // one perfect subtree per set bit: 512 + 256 + 8 + 1
    const b = new MerkleLog(saved, nodeSha256);
    const c = MerkleLog.fromStore(store, 777, nodeSha256);
    for (let i = 777; i < 1100; i++) {
      const nodes = a.appendEntry(entry(i));
      assert.deepEqual(b.appendEntry(entry(i)), nodes);
      assert.deepEqual(c.appendEntry(entry(i)), nodes);
    }
    assert.deepEqual(b.root(), a.root());
    assert.deepEqual(c.root(), a.root());
  });

  it('refuses a frontier whose hash count does not match its size (TypeError) and a store without the leaves', () => {
    assert.throws(() => new MerkleLog({ size: 3, hashes: [new Uint8Array(32)] }), TypeError);
    assert.throws(() => new MerkleLog({ size: -1, hashes: [] }), TypeError);
    assert.throws(() => MerkleLog.fromStore(new MemoryNodeStore(), 5, nodeSha256), { code: 'ERR_LOG_NODE_MISSING' });
  });
});
