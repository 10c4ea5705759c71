/**
 * `custody monitor` reads fork evidence through the store's evidence port, on both backends. Regression: on a
 * PostgreSQL store with fork evidence it failed, reading the evidence's name (`postgres://...#evidence/1`) as a
 * file path.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceRecord } from '@custody/core/ports';
import { initStoreAt, type Store } from '@custody/store';
import { runMonitor } from '../src/monitor.js';
import { makeDevice, makeParty, makeRoot, signChain, T_BIRTH, T_HANDOFF1, type Holder, type Party } from '../../core/test/verification/fixtures.js';
import { createTestDatabase, requirePg } from '../../../test/pg/cluster.js';

const NOW = new Date('2027-01-01T00:00:00Z');
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('monitor reads fork evidence through the evidence port', function () {
  let tmp: string;
  let idevid: Holder;
  let parties: { factory: Party; integrator: Party; reseller: Party };
  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-monitor-'));
    const root = await makeRoot('Acme', 'Acme Root');
    parties = {
      factory: await makeParty(root, 'Acme', 'factory'),
      integrator: await makeParty(root, 'Northwind', 'integrator'),
      reseller: await makeParty(root, 'Contoso', 'reseller'),
    };
    idevid = await makeDevice(root, 'M1');
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Records a device handed to the reseller, then imports a chain handing it to the factory instead: kept as evidence. */
  async function forkInto(store: Store): Promise<void> {
    const { factory, integrator, reseller } = parties;
    const mine = await signChain(idevid, [
      { kind: 'birth', signer: factory, to: integrator, time: T_BIRTH },
      { kind: 'handoff', signer: integrator, to: reseller, time: T_HANDOFF1 },
    ]);
    // A second handoff from the same point, signed elsewhere: its prev names our birth.
    const [theirs] = await signChain(idevid, [{ kind: 'handoff', signer: integrator, to: factory, time: T_HANDOFF1, seq: 1, prev: hex(mine[0]!) }]);
    const device: DeviceRecord = {
      serial: 'M1',
      certificate: idevid.der,
      certSerial: 'aa01',
      spkiSha256: hex(idevid.der),
      certSha256: hex(idevid.der),
      issuer: 'issuing',
      issuedAt: T_BIRTH.toISOString(),
      attestations: mine,
    };
    await store.commitDevices([device]);
    await assert.rejects(store.importDevice({ ...device, attestations: [mine[0]!, theirs!] }), { code: 'ERR_FORK' });
  }

  async function expectFork(store: Store): Promise<void> {
    const [evidence] = await store.listEvidence();
    assert.ok(evidence);
    const report = await runMonitor(store, { bundles: [], crls: [], now: NOW });
    const fork = report.findings.find((f) => f.kind === 'fork');
    assert.ok(fork, JSON.stringify(report.findings));
    assert.equal(fork.device, 'M1');
    assert.deepEqual(new Set(fork.sources), new Set([store.location, evidence.source]));
    assert.equal(report.sources, 2);
  }

  it('finds the fork on an embedded store', async function () {
    const store = await initStoreAt(join(tmp, 'embedded'), NOW);
    try {
      await forkInto(store);
      await expectFork(store);
    } finally {
      await store.close();
    }
  });

  it('finds the fork on a PostgreSQL store (regression: it read postgres://...#evidence/1 as a file)', async function () {
    const url = await createTestDatabase(requirePg(this));
    const store = await initStoreAt(url, NOW);
    try {
      await forkInto(store);
      assert.match((await store.listEvidence())[0]!.source, /#evidence\/\d+$/);
      await expectFork(store);
    } finally {
      await store.close();
    }
  });
});
