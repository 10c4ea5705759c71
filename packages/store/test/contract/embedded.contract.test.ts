import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../../src/embedded-store.js';
import { storeContract } from './store-contract.js';

describe('embedded store', function () {
  let tmp: string;
  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-contract-'));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  let n = 0;
  // A fresh store folder for every test.
  storeContract(
    'EmbeddedStore',
    () => EmbeddedStore.init(join(tmp, `s${n++}`), new Date('2026-01-01T00:00:00Z')),
    (store) => EmbeddedStore.open(store.location),
  );
});
