import { PgStore } from '../../src/postgres/pg-store.js';
import { createTestDatabase, requirePg } from '../../../../test/pg/cluster.js';
import { storeContract } from './store-contract.js';

describe('PostgreSQL store', function () {
  let url: string;
  // One fresh database for the suite; every test opens its own connection pool on it.
  before(async function () {
    url = await createTestDatabase(requirePg(this), 'custody_contract');
    await (await PgStore.init(url, new Date('2026-01-01T00:00:00Z'), { keyDir: '/nonexistent-unused' })).close();
  });

  storeContract('PgStore', () => PgStore.open(url), () => PgStore.open(url));
});
