import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { merkleTreeHeadOfEntries, leafHash } from '@custody/core/log';
import { treeRoot } from '@custody/core/log';
import { inclusionProof, verifyInclusion } from '@custody/core/log';
import { consistencyProof, verifyConsistency } from '@custody/core/log';
import type { DeviceRecord } from '@custody/core/ports';
import { PgStore } from '../../src/postgres/pg-store.js';
import { MIGRATIONS } from '../../src/postgres/migrations.js';
import { createTestDatabase, requirePg } from '../../../../test/pg/cluster.js';
import { fixtureDevice } from '../contract/store-contract.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** The append that extends `device`'s chain (as last recorded here) with `text`. */
function extend(device: DeviceRecord, text: string) {
  const attestation = utf8(`${text} of ${device.serial}`);
  const item = { serial: device.serial, prev: hex(device.attestations.at(-1)!), attestation };
  device.attestations = [...device.attestations, attestation];
  return item;
}

/** Every logged attestation's DER in leaf order, read straight from the tables, and whether the numbering is gap-free. */
async function loggedEntries(url: string): Promise<{ ders: Uint8Array[]; gapFree: boolean; size: number }> {
  const rows = await sql<{ idx: string; der: Buffer }>(url, 'SELECT l.idx, a.der FROM log_leaves l JOIN attestations a USING (serial, seq) ORDER BY l.idx');
  const [{ size }] = await sql<{ size: string }>(url, 'SELECT size FROM log_state');
  return { ders: rows.map((r) => new Uint8Array(r.der)), gapFree: rows.every((r, i) => Number(r.idx) === i), size: Number(size) };
}

/** Checks every root, every inclusion proof at the full size and every consistency proof to it against the entries. */
async function assertLogMatches(store: PgStore, entries: readonly Uint8Array[]): Promise<void> {
  const n = await store.logSize();
  assert.equal(n, entries.length);
  for (let size = 1; size <= n; size++) {
    await store.loadLogNodes(size);
    assert.deepEqual(b64(treeRoot(store.logNodes(), size)), b64(merkleTreeHeadOfEntries(entries.slice(0, size))), `root of ${size}`);
  }
  const root = merkleTreeHeadOfEntries(entries);
  await store.loadLogNodes(n, { leaves: entries.map((_, i) => i) });
  for (const [i, e] of entries.entries()) verifyInclusion(leafHash(e), inclusionProof(store.logNodes(), i, n), root);
  for (let old = 1; old < n; old++) {
    await store.loadLogNodes(n, { oldSize: old });
    verifyConsistency(consistencyProof(store.logNodes(), old, n), treeRoot(store.logNodes(), old), root);
  }
}

describe('PgStore transparency log', function () {
  let admin: string;
  before(function () {
    admin = requirePg(this);
  });

  async function freshStore(opts: { chunkSize?: number } = {}): Promise<{ url: string; store: PgStore }> {
    const url = await createTestDatabase(admin, 'custody_log');
    await (await PgStore.init(url, NOW, { keyDir: '/nonexistent-unused' })).close();
    return { url, store: await PgStore.open(url, opts) };
  }

  it('logs every attestation in record order: commits, appends, imports; roots and proofs match', async function () {
    const { url, store } = await freshStore();
    try {
      const a = fixtureDevice('LOG-A', { extra: 1 });
      const b = fixtureDevice('LOG-B');
      await store.commitDevices([a, b]);
      assert.deepEqual(await store.appendAttestations([extend(b, 'to Alice'), extend(a, 'to Bob')]), [
        { serial: 'LOG-B', ok: true },
        { serial: 'LOG-A', ok: true },
      ]);
      const c = fixtureDevice('LOG-C', { extra: 1 });
      assert.equal(await store.importDevice(c), 'added');
      const longer = { ...a, attestations: [...a.attestations, utf8('handoff from elsewhere')] };
      assert.equal(await store.importDevice(longer), 'extended');
      const expected = [
        a.attestations[0]!,
        a.attestations[1]!,
        b.attestations[0]!,
        b.attestations[1]!,
        a.attestations[2]!,
        c.attestations[0]!,
        c.attestations[1]!,
        longer.attestations[3]!,
      ];
      const logged = await loggedEntries(url);
      assert.ok(logged.gapFree);
      assert.deepEqual(logged.ders.map(b64), expected.map(b64));
      assert.deepEqual(await store.logLeaf(4), { serial: 'LOG-A', seq: 2 });
      assert.equal(await store.logLeaf(8), undefined);
      assert.equal(await store.logLeaf(-1), undefined);
      assert.equal(await store.logLeafIndex('LOG-C', 1), 6);
      assert.equal(await store.logLeafIndex('LOG-C', 2), undefined);
      await assertLogMatches(store, expected);
    } finally {
      await store.close();
    }
  });

  it('keeps the log whole across chunked commits (more devices than one statement holds)', async function () {
    const { store } = await freshStore({ chunkSize: 3 });
    try {
      const devices = Array.from({ length: 10 }, (_, i) => fixtureDevice(`CHUNK-${i}`, { extra: i % 2 }));
      await store.commitDevices(devices);
      await assertLogMatches(
        store,
        devices.flatMap((d) => d.attestations),
      );
    } finally {
      await store.close();
    }
  });

  it('costs two statements per append, whatever the size', async function () {
    const { store } = await freshStore();
    try {
      await store.commitDevices(Array.from({ length: 300 }, (_, i) => fixtureDevice(`SIZE-${i}`)));
      for (let i = 0; i < 5; i++) {
        const before = store.logStats.queries;
        await store.commitDevices([fixtureDevice(`ONE-${i}`)]);
        assert.equal(store.logStats.queries - before, 2);
      }
      // A single leaf completes at most log2(n) subtrees: nodes written average 2 per leaf.
      assert.ok(store.logStats.nodes <= 2 * store.logStats.leaves);
    } finally {
      await store.close();
    }
  });

  it('a rolled-back transaction leaves no leaf; refused appends are not logged', async function () {
    const { url, store } = await freshStore();
    try {
      const a = fixtureDevice('RB-A');
      await store.commitDevices([a]);
      await assert.rejects(store.commitDevices([fixtureDevice('RB-NEW'), fixtureDevice('RB-A')]), { code: 'ERR_DUPLICATE_SERIAL' });
      assert.equal(await store.logSize(), 1);
      assert.equal(await store.logLeafIndex('RB-NEW', 0), undefined);
      const fork = { ...a, attestations: [...a.attestations] };
      assert.equal((await store.appendAttestations([extend(a, 'to Alice')]))[0]!.ok, true);
      const [r] = await store.appendAttestations([extend(fork, 'to Bob')]);
      assert.equal(r!.ok, false);
      const logged = await loggedEntries(url);
      assert.equal(logged.size, 2);
      assert.deepEqual(logged.ders.map(b64), a.attestations.map(b64));
      await store.commitDevices([fixtureDevice('RB-AFTER')]);
      assert.deepEqual((await loggedEntries(url)).ders.length, 3);
      assert.equal(await store.logLeafIndex('RB-AFTER', 0), 2);
    } finally {
      await store.close();
    }
  });

  it('two concurrent writers produce one gap-free log of every attestation', async function () {
    const { url, store } = await freshStore();
    const other = await PgStore.open(url);
    try {
      const write = async (s: PgStore, who: string) => {
        for (let i = 0; i < 15; i++) {
          const batch = Array.from({ length: 1 + (i % 4) }, (_, j) => fixtureDevice(`${who}-${i}-${j}`));
          await s.commitDevices(batch);
          const results = await s.appendAttestations(batch.map((d) => extend(d, 'handoff')));
          assert.ok(results.every((x) => x.ok));
        }
      };
      await Promise.all([write(store, 'W1'), write(other, 'W2'), write(store, 'W3'), write(other, 'W4')]);
      const logged = await loggedEntries(url);
      const [{ n }] = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM attestations');
      assert.ok(logged.gapFree);
      assert.equal(logged.ders.length, Number(n));
      assert.equal(logged.size, Number(n));
      await store.loadLogNodes(logged.size);
      assert.equal(b64(treeRoot(store.logNodes(), logged.size)), b64(merkleTreeHeadOfEntries(logged.ders)));
    } finally {
      await Promise.all([store.close(), other.close()]);
    }
  });

  it('logNodes refuses a node that was not loaded with ERR_LOG_NODE_MISSING', async function () {
    const { store } = await freshStore();
    try {
      await store.commitDevices([fixtureDevice('NL-1'), fixtureDevice('NL-2')]);
      assert.throws(() => store.logNodes().get(0, 1), { code: 'ERR_LOG_NODE_MISSING' });
      await store.loadLogNodes(99); // past the end: nothing to fetch, no error
      await store.loadLogNodes(2, { leaves: [1] });
      assert.ok(store.logNodes().get(0, 0));
    } finally {
      await store.close();
    }
  });

  it('keeps one log key and round-trips seen checkpoints', async function () {
    const { store } = await freshStore();
    try {
      assert.equal(await store.getLogConfig(), undefined);
      const config = { origin: 'custody.example/pg', key: { type: 'file' as const, path: 'log.key.pem' }, createdAt: NOW.toISOString() };
      await store.setLogConfig(config);
      assert.deepEqual(await store.getLogConfig(), config);
      await assert.rejects(store.setLogConfig({ ...config, origin: 'other' }), { code: 'ERR_CONFLICT_LOG_EXISTS', message: /custody\.example\/pg/ });
      assert.equal(await store.getSeenCheckpoint('log.example/a'), undefined);
      await store.putSeenCheckpoint('log.example/a', 'note 1\n');
      await store.putSeenCheckpoint('log.example/b', 'note b\n');
      await store.putSeenCheckpoint('log.example/a', 'note 2\n');
      assert.equal(await store.getSeenCheckpoint('log.example/a'), 'note 2\n');
      assert.equal(await store.getSeenCheckpoint('log.example/b'), 'note b\n');
    } finally {
      await store.close();
    }
  });

  it('the migration logs the attestations recorded before it, then appends continue the same tree', async function () {
    const { url, store } = await freshStore();
    const devices = Array.from({ length: 13 }, (_, i) => fixtureDevice(`OLD-${i}`, { extra: i % 3 }));
    await store.commitDevices(devices);
    await store.close();
    // Back to the schema before the log: drop its tables (and what later migrations added) and forget those migrations.
    const log = MIGRATIONS.find((m) => m.name === 'transparency-log')!;
    await sql(url, 'DROP TABLE log_leaves, log_nodes, log_state, log_config, seen_checkpoints, log_checkpoints');
    await sql(url, 'ALTER TABLE attestations DROP COLUMN facts');
    await sql(url, 'DROP TABLE ldevids, ldevid_keys, firmware_signers, releases, release_withdrawals');
    await sql(url, 'DELETE FROM schema_migrations WHERE version >= $1', [log.version]);
    const upgraded = await PgStore.init(url, NOW, { keyDir: '/nonexistent-unused' });
    try {
      assert.deepEqual(
        upgraded.applied,
        MIGRATIONS.filter((m) => m.version >= log.version).map((m) => m.version),
      );
      const fresh = fixtureDevice('NEW-1', { extra: 1 });
      await upgraded.commitDevices([fresh]);
      await assertLogMatches(upgraded, [...devices.flatMap((d) => d.attestations), ...fresh.attestations]);
    } finally {
      await upgraded.close();
    }
  });
});
