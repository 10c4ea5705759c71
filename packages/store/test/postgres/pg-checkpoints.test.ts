import assert from 'node:assert/strict';
import pg from 'pg';
import { PgStore } from '../../src/postgres/pg-store.js';
import { PgCheckpointHistory } from '../../src/postgres/pg-checkpoints.js';
import { createTestDatabase, requirePg } from '../../../../test/pg/cluster.js';
import { historyContract, note } from '../checkpoint-history-contract.js';

const NOW = new Date('2026-01-01T00:00:00Z');

describe('checkpoint history (PostgreSQL, migration 6)', function () {
  let admin: string;
  const pools: pg.Pool[] = [];
  before(function () {
    admin = requirePg(this);
  });
  const stores: PgStore[] = [];
  after(async function () {
    await Promise.all(pools.map((p) => p.end()));
    await Promise.all(stores.map((s) => s.close()));
  });

  /** An empty history in a fresh database with this build's schema. */
  async function fresh(): Promise<{ url: string; history: PgCheckpointHistory; pool: pg.Pool }> {
    const url = await createTestDatabase(admin);
    await (await PgStore.init(url, NOW, { keyDir: '/nonexistent-unused' })).close();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pools.push(pool);
    return { url, history: new PgCheckpointHistory(pool, url), pool };
  }

  historyContract(async () => (await fresh()).history);

  describe('through PgStore (its CheckpointHistory port)', function () {
    historyContract(async () => {
      const store = await PgStore.open((await fresh()).url);
      stores.push(store);
      return store;
    });
  });

  it('keeps one row per size, only as the history grows, also under concurrent writers', async function () {
    const { history, pool } = await fresh();
    await Promise.all([5, 5, 5, 3, 9].map((s) => history.recordCheckpoint(s, note(s))));
    const rows = (await pool.query<{ tree_size: string }>('SELECT tree_size FROM log_checkpoints ORDER BY tree_size')).rows.map((r) => Number(r.tree_size));
    assert.ok(rows.includes(9) && rows.every((s) => [3, 5, 9].includes(s)), `rows ${rows}`);
    assert.equal(new Set(rows).size, rows.length);
    assert.equal(await history.checkpointCovering(5), note(9));
  });
});
