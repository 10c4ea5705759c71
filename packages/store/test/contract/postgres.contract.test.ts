import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgStore } from '../../src/postgres/pg-store.js';
import { createTestDatabase, requirePg } from '../../../../test/pg/cluster.js';
import { storeContract } from './store-contract.js';

describe('PostgreSQL store', function () {
  let url: string;
  let keyDir: string;
  // One fresh database for the suite; every test opens its own connection pool on it.
  before(async function () {
    url = await createTestDatabase(requirePg(this), 'custody_contract');
    keyDir = mkdtempSync(join(tmpdir(), 'custody-contract-keys-'));
    await (await PgStore.init(url, new Date('2026-01-01T00:00:00Z'), { keyDir })).close();
  });
  after(function () {
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  storeContract(
    'PgStore',
    () => PgStore.open(url, { keyDir }),
    () => PgStore.open(url, { keyDir }),
  );
});
