/**
 * The key folder of a PostgreSQL store (issue 20). Regression: CA and party keys of a PostgreSQL store went
 * silently to ./.custody-keys of whatever folder the command ran in; now the store needs `--keys DIR` (or
 * CUSTODY_KEYS) for any key and refuses to guess.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON } from './e2e-helpers.js';
import { createTestDatabase, requirePg } from './pg/cluster.js';

describe('PostgreSQL store key folder (regression: keys went to ./.custody-keys of the working folder)', function () {
  let tmp: string;
  let url: string;
  before(async function () {
    url = await createTestDatabase(requirePg(this));
    tmp = mkdtempSync(join(tmpdir(), 'custody-pg-keys-'));
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const env = { CUSTODY_PASSPHRASE: 'pg keys test', CUSTODY_KEYS: undefined };

  it('refuses to create a CA without --keys with ERR_USAGE_STORE_KEYS (exit 2), writing no key anywhere', function () {
    assert.equal(custodyJSON(['init', '--store', url, '--json'], { env, cwd: tmp }).status, 0);
    const r = custodyJSON(['ca', 'create', '--store', url, '--name', 'root', '--organization', 'Acme', '--json'], { env, cwd: tmp });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.json.error.code, 'ERR_USAGE_STORE_KEYS');
    assert.equal(existsSync(join(tmp, '.custody-keys')), false);
    assert.equal(custodyJSON(['ca', 'list', '--store', url, '--json'], { env, cwd: tmp }).status, 0);
  });

  it('keeps the keys in the folder --keys or CUSTODY_KEYS names', function () {
    const keys = join(tmp, 'site-keys');
    const r = custodyJSON(['ca', 'create', '--store', url, '--keys', keys, '--name', 'root', '--organization', 'Acme', '--json'], { env, cwd: tmp });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(keys), ['root.key.pem']);
    const p = custodyJSON(['parties', 'create', '--store', url, '--name', 'factory', '--ca', 'root', '--organization', 'Acme', '--json'], {
      env: { ...env, CUSTODY_KEYS: keys },
      cwd: tmp,
    });
    assert.equal(p.status, 0, p.stderr);
    assert.ok(readdirSync(keys).includes('factory.key.pem'), readdirSync(keys).join());
    assert.equal(existsSync(join(tmp, '.custody-keys')), false);
  });
});
