/**
 * Re-runs are safe (issue 20): re-running a provisioning batch skips what it issued to the same key and issues
 * the rest; re-running a handoff to the same recipient is a no-op success per device. Each test checks the store
 * and the output folder are exactly as before where nothing was to be done.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCSR, encodePEM } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { EmbeddedStore } from '@custody/store';
import { createCA, createParty } from '../src/ca.js';
import { loadTemplate, templatesDir } from '../src/context.js';
import { provision, type ProvisionCommandOptions } from '../src/provision.js';
import { transferDevices } from '../src/handoff.js';
import { snapshot } from '../../../test/e2e-helpers.js';

const PASS = 'reruns test passphrase';
const provider = new NodeCryptoProvider();

describe('re-runs (issue 20)', function () {
  this.timeout(120_000);
  let tmp: string;
  let dir: string;
  let store: EmbeddedStore;
  let common: Omit<ProvisionCommandOptions, 'generate' | 'csrPath' | 'out'>;

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-reruns-'));
    dir = join(tmp, 'store');
    store = await EmbeddedStore.init(dir, new Date());
    const tdir = templatesDir(undefined);
    const c = { organization: 'Rerun', protection: { passphrase: PASS }, passphrase: PASS, now: new Date() };
    await createCA(store, { name: 'root', template: await loadTemplate(tdir, 'root-ca'), ...c });
    await createCA(store, { name: 'issuing', template: await loadTemplate(tdir, 'issuing-ca'), issuer: 'root', ...c });
    await createParty(store, { name: 'factory', ca: 'root', template: await loadTemplate(tdir, 'party'), ...c });
    await createParty(store, { name: 'integrator', ca: 'root', template: await loadTemplate(tdir, 'party'), ...c });
    common = {
      ca: 'issuing',
      template: await loadTemplate(tdir, 'idevid'),
      serialPattern: 'R{seq:3}',
      start: 1,
      passphrase: PASS,
      party: 'factory',
      deviceKeyProtection: { passphrase: 'device keys' },
      now: new Date(),
    };
  });
  after(async function () {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('re-running a finished --generate batch skips every device as already issued (was: ERR_DUPLICATE_SERIAL), store and folder unchanged', async function () {
    const out = join(tmp, 'gen');
    const first = await provision(store, { ...common, generate: 4, out });
    assert.equal(first.devices.length, 4);
    const before = { store: snapshot(dir), out: snapshot(out) };
    const again = await provision(store, { ...common, generate: 4, out });
    assert.equal(again.devices.length, 0);
    assert.deepEqual(
      again.alreadyIssued?.map((d) => [d.serial, d.certSerial]),
      first.devices.map((d) => [d.serial, d.certSerial]),
    );
    assert.deepEqual({ store: snapshot(dir), out: snapshot(out) }, before);
  });

  it('re-running a --generate batch that stopped part way issues the rest only', async function () {
    const out = join(tmp, 'gen-more');
    const r = await provision(store, { ...common, generate: 6, out });
    assert.deepEqual(
      r.alreadyIssued?.map((d) => d.serial),
      ['R001', 'R002', 'R003', 'R004'],
    );
    assert.deepEqual(
      r.devices.map((d) => d.serial),
      ['R005', 'R006'],
    );
    assert.deepEqual(readdirSync(out).sort(), ['R005.key.pem', 'R005.pem', 'R006.key.pem', 'R006.pem']);
  });

  it('re-running a --csr folder skips the requests issued to the same key and issues the others; another key for an issued serial is still refused', async function () {
    const csrs = join(tmp, 'csrs');
    mkdirSync(csrs);
    const write = async (serial: string) => {
      const keys = await provider.generateKeyPair('P-256');
      writeFileSync(join(csrs, `${serial}.csr`), encodePEM(await createCSR([['serialNumber', serial]], keys.privateKey, provider), 'CERTIFICATE REQUEST'));
    };
    for (const s of ['C001', 'C002']) await write(s);
    const first = await provision(store, { ...common, csrPath: csrs });
    assert.equal(first.devices.length, 2);
    await write('C003');
    const before = snapshot(dir);
    const again = await provision(store, { ...common, csrPath: csrs });
    assert.deepEqual(
      again.alreadyIssued?.map((d) => d.serial),
      ['C001', 'C002'],
    );
    assert.deepEqual(
      again.devices.map((d) => d.serial),
      ['C003'],
    );
    assert.notDeepEqual(snapshot(dir), before);
    // The same serial with another key is not a re-run.
    await write('C001');
    const refusedBefore = snapshot(dir);
    await assert.rejects(provision(store, { ...common, csrPath: csrs }), { code: 'ERR_DUPLICATE_SERIAL' });
    assert.deepEqual(snapshot(dir), refusedBefore);
  });

  it('an interrupted batch (was: exit 130 silently) stops at a chunk boundary with ERR_INTERRUPTED saying what was recorded; the re-run issues the rest', async function () {
    const out = join(tmp, 'interrupted');
    const stop = new AbortController();
    const o = { ...common, serialPattern: 'I{seq:5}', generate: 206, chunkSize: 50, out };
    await assert.rejects(
      provision(store, { ...o, signal: stop.signal, onProgress: (phase) => phase === 'committing' && stop.abort() }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_INTERRUPTED');
        assert.match(e.message, /100 of 206 recorded \(I00001 to I00100\)/);
        assert.match(e.message, /run the same command again/);
        return true;
      },
    );
    const files = readdirSync(out);
    // The chunk read while the first was committed is committed too; the third is never read.
    assert.equal(files.length, 2 * 100, 'a certificate and a key for every recorded device, nothing else');
    assert.ok(
      files.every((f) => !f.startsWith('.')),
      'no temporary file left',
    );
    const again = await provision(store, o);
    assert.equal(again.alreadyIssued?.length, 100);
    assert.deepEqual(
      again.devices.map((d) => d.serial),
      Array.from({ length: 106 }, (_, i) => `I${String(101 + i).padStart(5, '0')}`),
    );
  });

  it('re-running a handoff to the same recipient is a no-op success per device (was: one ERR_NOT_CUSTODIAN each, exit 4), store unchanged', async function () {
    const serials = ['R001', 'R002', 'R003'];
    const first = await transferDevices(store, { kind: 'handoff', serials, party: 'factory', to: 'integrator', passphrase: PASS, now: new Date() });
    assert.ok(first.results.every((x) => x.ok && !x.already && x.seq === 1));
    const before = snapshot(dir);
    const again = await transferDevices(store, {
      kind: 'handoff',
      serials: ['R001', 'R002', 'R003', 'R004'],
      party: 'factory',
      to: 'integrator',
      passphrase: PASS,
      now: new Date(),
    });
    assert.deepEqual(
      again.results.map((x) => [x.serial, x.ok, x.already ?? false, x.seq]),
      [
        ['R001', true, true, 1],
        ['R002', true, true, 1],
        ['R003', true, true, 1],
        ['R004', true, false, 1],
      ],
    );
    assert.notDeepEqual(snapshot(dir), before);
    const noop = snapshot(dir);
    const onceMore = await transferDevices(store, { kind: 'handoff', serials, party: 'factory', to: 'integrator', passphrase: PASS, now: new Date() });
    assert.ok(onceMore.results.every((x) => x.ok && x.already));
    assert.deepEqual(snapshot(dir), noop);
  });
});
