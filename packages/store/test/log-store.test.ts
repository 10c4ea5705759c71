/**
 * The embedded store's transparency log: the on-disk NodeStore (persistence, reopen, flat append cost), the
 * log leaves the store appends with its attestations (replay after a crash appends each once), fork evidence,
 * and the verifier's memory of checkpoints.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { inclusionProof, leafHash, merkleTreeHeadOfEntries, treeRoot, verifyInclusion } from '@custody/core';
import type { DeviceRecord } from '@custody/core/ports';
import { EmbeddedStore } from '../src/embedded-store.js';
import { nodeSha256 } from '@custody/core/node';
import { LogStore, type LogEntry } from '../src/log-store.js';
import { fixtureDevice } from './contract/store-contract.js';

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Hashes compared as hex: node hashes are Buffers, core's are plain Uint8Arrays. */
const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
const NOW = new Date('2026-01-01T00:00:00Z');
const pos = { segment: 1, offset: 0, length: 1 };

function entries(from: number, n: number): LogEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    leafIndex: from + i,
    attestation: utf8(`entry ${from + i}`),
    pos: { ...pos, offset: from + i },
    seq: (from + i) % 7,
  }));
}

/** Node writes of each of `n` single-leaf appends to `log`. */
function perAppendWrites(log: LogStore, n: number): { nodes: number[]; ms: number } {
  const nodes: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const before = log.stats.nodes;
    log.append(entries(log.size(), 1));
    nodes.push(log.stats.nodes - before);
  }
  return { nodes, ms: performance.now() - t0 };
}

describe('LogStore', function () {
  this.timeout(120_000);
  let tmp: string;
  beforeEach(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-log-'));
  });
  afterEach(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('keeps the RFC 6962 tree on disk and answers the same after reopening', function () {
    const dir = join(tmp, 'log');
    const log = new LogStore(dir);
    assert.equal(log.size(), 0);
    log.append(entries(0, 5));
    log.append(entries(5, 8));
    const all = entries(0, 13).map((e) => e.attestation);
    assert.equal(log.size(), 13);
    assert.equal(h(treeRoot(log, 13, nodeSha256)), h(merkleTreeHeadOfEntries(all)));
    log.close();
    const again = new LogStore(dir);
    assert.equal(again.size(), 13);
    assert.equal(h(treeRoot(again, 13, nodeSha256)), h(merkleTreeHeadOfEntries(all)));
    assert.equal(h(treeRoot(again, 6, nodeSha256)), h(merkleTreeHeadOfEntries(all.slice(0, 6))));
    const proof = inclusionProof(again, 9, 13, nodeSha256);
    verifyInclusion(leafHash(all[9]!), proof, merkleTreeHeadOfEntries(all));
    assert.deepEqual(again.leafAt(9), { pos: { ...pos, offset: 9 }, seq: 9 % 7 });
    assert.equal(again.leafAt(13), undefined);
    again.close();
  });

  it('skips entries already in the log and refuses a gap', function () {
    const log = new LogStore(join(tmp, 'log'));
    assert.equal(log.append(entries(0, 4)), 4);
    assert.equal(log.append(entries(2, 4)), 2);
    assert.equal(log.size(), 6);
    assert.throws(() => log.append(entries(8, 1)), { code: 'ERR_STORE_CORRUPT' });
    log.close();
  });

  it('writes O(log n) nodes per append, the same at 100,000 entries as at 1,000', function () {
    // Warm the JIT on a throwaway log first, so that the two timings compare like with like.
    const warm = new LogStore(join(tmp, 'warm'));
    perAppendWrites(warm, 2048);
    warm.close();
    const log = new LogStore(join(tmp, 'log'));
    log.append(entries(0, 1000));
    const small = perAppendWrites(log, 1024);
    for (let n = log.size(); n < 100_000; n += 5000) log.append(entries(n, Math.min(5000, 100_000 - n)));
    assert.equal(log.size(), 100_000);
    const large = perAppendWrites(log, 1024);
    const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    // 1 + trailing ones of the index: 2 on average, at most log2(n) + 1.
    assert.ok(Math.max(...small.nodes) <= Math.ceil(Math.log2(2024)) + 1);
    assert.ok(Math.max(...large.nodes) <= Math.ceil(Math.log2(101_024)) + 1);
    assert.ok(Math.abs(avg(small.nodes) - 2) < 0.05, `average at 1,000: ${avg(small.nodes)}`);
    assert.ok(Math.abs(avg(large.nodes) - 2) < 0.05, `average at 100,000: ${avg(large.nodes)}`);
    // Reported, not asserted (wall-clock): the cost per append at both sizes.
    console.log(
      `      node writes per append: ${avg(small.nodes).toFixed(3)} at 1k, ${avg(large.nodes).toFixed(3)} at 100k; ` +
        `${((small.ms * 1000) / 1024).toFixed(1)} us vs ${((large.ms * 1000) / 1024).toFixed(1)} us per append`,
    );
    log.close();
  });
});

describe('EmbeddedStore transparency log', function () {
  this.timeout(60_000);
  let tmp: string;
  let n = 0;
  beforeEach(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-store-log-'));
  });
  afterEach(function () {
    rmSync(tmp, { recursive: true, force: true });
  });
  const fresh = () => EmbeddedStore.init(join(tmp, `s${n++}`), NOW);

  /** Every attestation the store logged, in leaf order, as the leaves' source bytes. */
  async function loggedBytes(store: EmbeddedStore): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let i = 0; i < (await store.logSize()); i++) {
      const leaf = (await store.logLeaf(i))!;
      out.push((await store.getDevice(leaf.serial))!.attestations[leaf.seq]!);
    }
    return out;
  }

  it('logs every new attestation in record order, births and handoffs', async function () {
    const store = await fresh();
    const a = fixtureDevice('A', { extra: 1 });
    const b = fixtureDevice('B');
    await store.commitDevices([a, b]);
    assert.equal(await store.logSize(), 3);
    const next = { serial: 'B', prev: hex(b.attestations[0]!), attestation: utf8('handoff of B') };
    assert.deepEqual(await store.appendAttestations([next]), [{ serial: 'B', ok: true }]);
    assert.equal(await store.logSize(), 4);
    assert.equal(await store.logLeafIndex('A', 0), 0);
    assert.equal(await store.logLeafIndex('A', 1), 1);
    assert.equal(await store.logLeafIndex('B', 1), 3);
    assert.equal(await store.logLeafIndex('B', 2), undefined);
    assert.deepEqual(await store.logLeaf(3), { serial: 'B', seq: 1 });
    const bytes = await loggedBytes(store);
    assert.equal(h(treeRoot(store.logNodes(), 4, nodeSha256)), h(merkleTreeHeadOfEntries(bytes)));
    // The records the store hands out carry no log bookkeeping.
    assert.deepEqual(await store.getDevice('A'), a);
    // A second transfer from the same point is refused and not logged.
    const fork = { serial: 'B', prev: hex(b.attestations[0]!), attestation: utf8('second handoff of B') };
    assert.equal((await store.appendAttestations([fork]))[0]!.ok, false);
    assert.equal(await store.logSize(), 4);
    await store.close();
  });

  it('logs an imported chain, and only its new attestations when it grows', async function () {
    const store = await fresh();
    await store.importDevice(fixtureDevice('C', { extra: 1 }));
    assert.equal(await store.logSize(), 2);
    assert.equal(await store.importDevice(fixtureDevice('C', { extra: 1 })), 'unchanged');
    assert.equal(await store.importDevice(fixtureDevice('C', { extra: 3 })), 'extended');
    assert.equal(await store.logSize(), 4);
    assert.deepEqual(await loggedBytes(store), fixtureDevice('C', { extra: 3 }).attestations);
    await store.close();
  });

  it('persists across reopening', async function () {
    const store = await fresh();
    await store.commitDevices([fixtureDevice('D', { extra: 2 }), fixtureDevice('E')]);
    const root = Buffer.from(treeRoot(store.logNodes(), 4, nodeSha256));
    await store.close();
    const again = await EmbeddedStore.open(store.location);
    assert.equal(await again.logSize(), 4);
    assert.equal(h(treeRoot(again.logNodes(), 4, nodeSha256)), h(root));
    assert.equal(await again.logLeafIndex('E', 0), 3);
    await again.close();
  });

  it('replays a crashed write into the log once: lost leaves come back, logged ones are not repeated', async function () {
    const store = await fresh();
    const devices = Array.from({ length: 6 }, (_, i) => fixtureDevice(`R${i}`, { extra: i % 3 }));
    await store.commitDevices(devices.slice(0, 3));
    await store.commitDevices(devices.slice(3));
    const size = await store.logSize();
    const root = Buffer.from(treeRoot(store.logNodes(), size, nodeSha256));
    await store.close();
    const dir = store.location;
    const replay = async () => {
      // Forget that the journal was applied; the next writer replays all of it.
      writeFileSync(join(dir, 'journal', 'applied'), JSON.stringify({ segment: 1, offset: 0 }));
      const s = await EmbeddedStore.open(dir);
      await s.appendAttestations([]);
      return s;
    };
    // Replay with the log complete: nothing is appended twice.
    let s = await replay();
    assert.equal(await s.logSize(), size);
    assert.equal(h(treeRoot(s.logNodes(), size, nodeSha256)), h(root));
    await s.close();
    // A crash after the journal write, before the log's: the leaf level lost its tail (upper levels kept theirs).
    truncateSync(join(dir, 'log', 'level-00'), 2 * 32);
    s = await replay();
    assert.equal(await s.logSize(), size);
    assert.equal(h(treeRoot(s.logNodes(), size, nodeSha256)), h(root));
    assert.deepEqual(await s.logLeaf(size - 1), { serial: 'R5', seq: 2 });
    await s.close();
  });

  it('keeps a disagreeing imported chain as fork evidence', async function () {
    const store = await fresh();
    const mine = fixtureDevice('F', { extra: 1 });
    await store.commitDevices([mine]);
    assert.deepEqual(await store.listEvidence(), []);
    const theirs: DeviceRecord = { ...mine, attestations: [mine.attestations[0]!, utf8('another handoff of F')] };
    await assert.rejects(store.importDevice(theirs), { code: 'ERR_FORK' });
    const evidence = await store.listEvidence();
    assert.equal(evidence.length, 1);
    assert.equal(evidence[0]!.serial, 'F');
    assert.equal(evidence[0]!.attestation, 1);
    assert.deepEqual(evidence[0]!.device.attestations, theirs.attestations);
    assert.match(evidence[0]!.source, /evidence\/F-.*\.json$/);
    // The recorded chain and the log are untouched.
    assert.deepEqual((await store.getDevice('F'))!.attestations, mine.attestations);
    assert.equal(await store.logSize(), 2);
    await store.close();
  });

  it('records the log key once and remembers seen checkpoints per origin', async function () {
    const store = await fresh();
    assert.equal(await store.getLogConfig(), undefined);
    const config = { origin: 'custody.example/test', key: { type: 'file' as const, path: 'keys/log.key.pem' }, createdAt: NOW.toISOString() };
    await store.setLogConfig(config);
    await assert.rejects(store.setLogConfig(config), { code: 'ERR_CONFLICT_LOG_EXISTS' });
    await store.putSeenCheckpoint('a.example/log', 'note a\n');
    await store.putSeenCheckpoint('b.example/log', 'note b\n');
    await store.putSeenCheckpoint('a.example/log', 'note a2\n');
    await store.close();
    const again = await EmbeddedStore.open(store.location);
    assert.deepEqual(await again.getLogConfig(), config);
    assert.equal(await again.getSeenCheckpoint('a.example/log'), 'note a2\n');
    assert.equal(await again.getSeenCheckpoint('b.example/log'), 'note b\n');
    assert.equal(await again.getSeenCheckpoint('c.example/log'), undefined);
    await again.close();
  });
});
