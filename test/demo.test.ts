/** `custody demo` edge cases with the built CLI (the two-device run is in cli-commands.test.ts). */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON } from './e2e-helpers.js';

describe('custody demo (built CLI)', function () {
  this.timeout(180_000);
  let tmp: string;
  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-demo-e2e-'));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('runs with --devices 1 (regression: ERR_INPUT_READ ENOTDIR, the one bundle was written as a file named after the exchange folder)', function () {
    const out = join(tmp, 'one');
    const r = custodyJSON(['demo', '--out', out, '--devices', '1', '--json'], { cwd: tmp });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.equal(r.json.data.accepted, true);
    assert.deepEqual(
      r.json.data.devices.map((d: { serial: string; accepted: boolean }) => [d.serial, d.accepted]),
      [['ACME-000001', true]],
    );
    for (const folder of ['exchange/1-acme-to-northwind', 'exchange/2-northwind-to-contoso', 'bundles']) {
      assert.ok(statSync(join(out, folder)).isDirectory(), folder);
      assert.deepEqual(readdirSync(join(out, folder)), ['ACME-000001.json'], folder);
    }
    assert.ok(existsSync(join(out, 'report.json')));
  });
});
