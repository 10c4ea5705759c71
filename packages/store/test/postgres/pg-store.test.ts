import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { PgStore } from '../../src/postgres/pg-store.js';
import { redactURL } from '../../src/postgres/pg-database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/postgres/migrations.js';
import { initStoreAt, isPostgresLocation, openStoreAt } from '../../src/open.js';
import { createTestDatabase, requirePg } from '../../../../test/pg/cluster.js';
import { fixtureDevice } from '../contract/store-contract.js';
import { makeFactsWorld, type FactsWorld } from '../facts-world.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

async function sql(url: string, text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('PgStore', function () {
  let admin: string;
  let tmp: string;
  before(function () {
    admin = requirePg(this);
    tmp = mkdtempSync(join(tmpdir(), 'custody-pg-store-'));
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('schema migrations', function () {
    it('init creates the schema and records each migration once; a second init applies nothing', async function () {
      const url = await createTestDatabase(admin);
      const first = await PgStore.init(url, NOW, { keyDir: join(tmp, 'k1') });
      assert.deepEqual(
        first.applied,
        MIGRATIONS.map((m) => m.version),
      );
      await first.close();
      const second = await PgStore.init(url, NOW, { keyDir: join(tmp, 'k1') });
      assert.deepEqual(second.applied, []);
      await second.close();
      const rows = await sql(url, 'SELECT version, name FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows,
        MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
      );
    });

    it('concurrent init runs apply each migration once', async function () {
      const url = await createTestDatabase(admin);
      const stores = await Promise.all([1, 2, 3].map(() => PgStore.init(url, NOW, { keyDir: join(tmp, 'k2') })));
      assert.deepEqual(stores.map((s) => s.applied.length).sort(), [0, 0, MIGRATIONS.length]);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('open refuses a database without the schema with ERR_STORE_VERSION', async function () {
      const url = await createTestDatabase(admin);
      await assert.rejects(PgStore.open(url), { code: 'ERR_STORE_VERSION', message: /custody init/ });
    });

    it('open and init refuse a schema newer than this build with ERR_STORE_VERSION', async function () {
      const url = await createTestDatabase(admin);
      await (await PgStore.init(url, NOW, { keyDir: join(tmp, 'k3') })).close();
      await sql(url, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`, [SCHEMA_VERSION + 1]);
      await assert.rejects(PgStore.open(url), { code: 'ERR_STORE_VERSION', message: /newer/ });
      await assert.rejects(PgStore.init(url, NOW, { keyDir: join(tmp, 'k3') }), { code: 'ERR_STORE_VERSION' });
    });

    it('upgrades an older schema: open refuses it until init applies the missing migrations', async function () {
      const url = await createTestDatabase(admin);
      // The database as a build that knew only the first migration left it.
      await sql(
        url,
        `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()); ${MIGRATIONS[0]!.sql}`,
      );
      await sql(url, 'INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [MIGRATIONS[0]!.version, MIGRATIONS[0]!.name]);
      await assert.rejects(PgStore.open(url), { code: 'ERR_STORE_VERSION', message: /older/ });
      const upgraded = await PgStore.init(url, NOW, { keyDir: join(tmp, 'k4') });
      assert.deepEqual(
        upgraded.applied,
        MIGRATIONS.slice(1).map((m) => m.version),
      );
      await upgraded.close();
      await (await PgStore.open(url)).close();
    });

    it('init creates the database when the server has none of that name', async function () {
      const u = new URL(admin);
      u.pathname = `/custody_created_${Date.now()}`;
      await assert.rejects(PgStore.open(u.toString()), { code: 'ERR_STORE_MISSING' });
      const store = await PgStore.init(u.toString(), NOW, { keyDir: join(tmp, 'k5') });
      assert.equal(await store.countDevices(), 0);
      await store.close();
    });
  });

  describe('connections and options', function () {
    it('reports an unreachable server with ERR_STORE_UNAVAILABLE', async function () {
      const url = `postgresql://custody@127.0.0.1:${await closedPort()}/custody`;
      await assert.rejects(PgStore.open(url), { code: 'ERR_STORE_UNAVAILABLE', message: /127\.0\.0\.1/ });
      await assert.rejects(PgStore.init(url, NOW), { code: 'ERR_STORE_UNAVAILABLE' });
    });

    it('names the store without its password', function () {
      assert.equal(redactURL('postgresql://alice:s3cret@db.example:5432/custody'), 'postgresql://alice:***@db.example:5432/custody');
      assert.equal(redactURL('postgres://127.0.0.1/custody'), 'postgres://127.0.0.1/custody');
    });

    it('keeps keys in the folder it is given, and without one refuses to guess with ERR_USAGE_STORE_KEYS (regression: keys went to ./.custody-keys of the working folder)', async function () {
      const url = await createTestDatabase(admin);
      const keyDir = join(tmp, 'keys-here');
      const store = await PgStore.init(url, NOW, { keyDir });
      assert.equal(store.keyDir, keyDir);
      assert.ok(existsSync(keyDir));
      await store.close();
      const opened = await PgStore.open(url);
      assert.throws(() => opened.keyDir, { code: 'ERR_USAGE_STORE_KEYS' });
      // Everything else works without a key folder.
      assert.equal(await opened.countDevices(), 0);
      await opened.close();
      assert.equal(existsSync(resolve('.custody-keys')), false);
    });

    it('openStoreAt and initStoreAt pick the backend by the URL scheme', async function () {
      assert.equal(isPostgresLocation('postgres://h/db'), true);
      assert.equal(isPostgresLocation('postgresql://h/db'), true);
      assert.equal(isPostgresLocation('./.custody'), false);
      const url = await createTestDatabase(admin);
      const pgStore = await initStoreAt(url, NOW, { keyDir: join(tmp, 'k6') });
      assert.equal(pgStore.keyDir, join(tmp, 'k6'));
      await pgStore.close();
      const reopened = await openStoreAt(url, { keyDir: join(tmp, 'k6') });
      assert.equal(reopened.keyDir, join(tmp, 'k6'));
      await reopened.close();
      const dir = join(tmp, 'embedded');
      const emb = await initStoreAt(dir, NOW, { keyDir: join(tmp, 'ignored') });
      assert.ok(existsSync(join(dir, 'store.json')));
      // An embedded store keeps its keys in its own folder, whatever key folder the options name.
      assert.equal(emb.keyDir, join(dir, 'keys'));
      await emb.close();
      const embOpened = await openStoreAt(dir);
      assert.equal(embOpened.keyDir, join(dir, 'keys'));
      await embOpened.close();
    });
  });

  describe('rules enforced by the database', function () {
    let url: string;
    before(async function () {
      url = await createTestDatabase(admin);
      await (await PgStore.init(url, NOW, { keyDir: join(tmp, 'k7') })).close();
    });

    async function committed(serial: string) {
      const store = await PgStore.open(url);
      const d = fixtureDevice(serial, { extra: 1 });
      await store.commitDevices([d]);
      await store.close();
      return d;
    }

    const insert = (serial: string, seq: number, der: string, prev: Buffer | null) =>
      sql(url, 'INSERT INTO attestations (serial, seq, der, prev_hash) VALUES ($1, $2, $3, $4)', [serial, seq, Buffer.from(der), prev]);

    it('refuses a second successor of an attestation (the one-successor rule)', async function () {
      const d = await committed('R1');
      // Same predecessor, the seq slot taken: the primary key and the successor index both refuse it.
      await assert.rejects(insert('R1', 1, 'rival', sha(d.attestations[0]!)), { code: '23505' });
    });

    it('refuses an attestation that does not name its predecessor by hash', async function () {
      const d = await committed('R2');
      await assert.rejects(insert('R2', 2, 'wrong link', sha(Buffer.from('not an attestation'))), { code: '23503' });
      // Naming an older attestation is a second successor of it.
      await assert.rejects(insert('R2', 2, 'old link', sha(d.attestations[0]!)), { code: '23505' });
      await assert.rejects(insert('R2', 3, 'gap', sha(d.attestations[1]!)), { code: '23503' });
      await insert('R2', 2, 'right link', sha(d.attestations[1]!));
    });

    it('refuses a second birth attestation', async function () {
      await committed('R3');
      await assert.rejects(insert('R3', 1, 'rebirth', null), { code: '23514' });
    });

    it('computes attestation hashes itself', async function () {
      const d = await committed('R4');
      const rows = await sql(url, 'SELECT hash FROM attestations WHERE serial = $1 ORDER BY seq', ['R4']);
      assert.deepEqual(
        rows.map((r) => (r as { hash: Buffer }).hash),
        d.attestations.map((a) => sha(a)),
      );
    });

    it('lets exactly one of many concurrent appends from the same point win', async function () {
      const d = await committed('R5');
      const stores = await Promise.all(Array.from({ length: 8 }, () => PgStore.open(url)));
      const prev = sha(d.attestations.at(-1)!).toString('hex');
      const results = await Promise.all(stores.map((s, i) => s.appendAttestations([{ serial: 'R5', prev, attestation: Buffer.from(`rival ${i}`) }])));
      const ok = results.flat().filter((r) => r.ok);
      assert.equal(ok.length, 1);
      assert.deepEqual(
        [
          ...new Set(
            results
              .flat()
              .filter((r) => !r.ok)
              .map((r) => (r.ok ? '' : r.code)),
          ),
        ],
        ['ERR_FORK'],
      );
      assert.equal((await stores[0]!.getDevice('R5'))!.attestations.length, 3);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('lets exactly one of two concurrent commits of one serial win', async function () {
      const stores = await Promise.all([1, 2].map(() => PgStore.open(url)));
      const a = fixtureDevice('R6');
      const b = { ...fixtureDevice('R6-other'), serial: 'R6' };
      const outcomes = await Promise.allSettled([stores[0]!.commitDevices([a]), stores[1]!.commitDevices([b])]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      assert.equal(lost.reason.code, 'ERR_DUPLICATE_SERIAL');
      await Promise.all(stores.map((s) => s.close()));
    });
  });

  describe('chain facts', function () {
    // Real attestations: the facts are what their statements say (the other tests store placeholder bytes).
    let url: string;
    let world: FactsWorld;
    const hex = (b: Uint8Array) => sha(b).toString('hex');
    const factsOf = (custodian: string) => world.factsOf(custodian);
    before(async function () {
      world = await makeFactsWorld();
    });
    beforeEach(async function () {
      url = await createTestDatabase(admin);
      await (await PgStore.init(url, NOW, { keyDir: join(tmp, 'k8') })).close();
    });

    it('answers a tip with what its newest statement says, and without its DER, once recorded', async function () {
      const s = await PgStore.open(url);
      try {
        await s.commitDevices([world.device]);
        assert.deepEqual(await s.getTips(['F1']), [{ serial: 'F1', length: 1, lastHash: hex(world.chain[0]!), facts: factsOf(world.factory) }]);
        // Kept as given by the append; an append without facts leaves the tip to its DER.
        assert.equal(
          (await s.appendAttestations([{ serial: 'F1', prev: hex(world.chain[0]!), attestation: world.chain[1]!, facts: factsOf(world.integrator) }]))[0]!.ok,
          true,
        );
        assert.deepEqual(await s.getTips(['F1']), [{ serial: 'F1', length: 2, lastHash: hex(world.chain[1]!), facts: factsOf(world.integrator) }]);
        assert.equal((await s.appendAttestations([{ serial: 'F1', prev: hex(world.chain[1]!), attestation: world.chain[2]! }]))[0]!.ok, true);
        assert.deepEqual(await s.getTips(['F1']), [{ serial: 'F1', length: 3, lastHash: hex(world.chain[2]!), last: world.chain[2]! }]);
        assert.deepEqual((await s.getDevice('F1'))!.attestations, world.chain);
      } finally {
        await s.close();
      }
    });

    it('records the facts of the newest attestation when an import extends the chain', async function () {
      const s = await PgStore.open(url);
      try {
        await s.commitDevices([world.device]);
        assert.equal(await s.importDevice({ ...world.device, attestations: world.chain }), 'extended');
        assert.deepEqual(await s.getTips(['F1']), [{ serial: 'F1', length: 3, lastHash: hex(world.chain[2]!), facts: factsOf(world.reseller) }]);
      } finally {
        await s.close();
      }
    });

    it('answers with the newest DER for a row written without facts (before migration 7)', async function () {
      const s = await PgStore.open(url);
      try {
        await s.commitDevices([world.device]);
        await sql(url, 'UPDATE attestations SET facts = NULL');
        assert.deepEqual(await s.getTips(['F1']), [{ serial: 'F1', length: 1, lastHash: hex(world.chain[0]!), last: world.chain[0]! }]);
      } finally {
        await s.close();
      }
    });
  });
});
