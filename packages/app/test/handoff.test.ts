/**
 * The handoff batch's pipeline with stand-in signing pools: this thread signs pieces while a slow pool starts,
 * and signs every piece left once a pool fails, so that each device still ends with one result and one handoff.
 */
import assert from 'node:assert/strict';
import { sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '@custody/store';
import { createCA, createParty } from '../src/ca.js';
import { loadTemplate, templatesDir } from '../src/context.js';
import { provision } from '../src/provision.js';
import { transferDevices, type SigningPool, type TransferResult } from '../src/handoff.js';

const PASS = 'pipeline test passphrase';
/** Three chunks of 1,024: twelve pieces of 256. */
const DEVICES = 2600;
const PIECES = Math.ceil(1024 / 256) * 2 + Math.ceil((DEVICES - 2048) / 256);

/** A pool on this thread that signs with the key it was given, after `delay` ms, and fails from its `failFrom`-th request on. */
function standInPool(opts: { delay?: number; failFrom?: number }): { start: (key: KeyObject) => SigningPool; signed: () => number } {
  let requests = 0;
  let signed = 0;
  return {
    signed: () => signed,
    start: (key) => ({
      run: async (messages) => {
        const n = requests++;
        await new Promise((resolve) => setTimeout(resolve, opts.delay ?? 0));
        if (opts.failFrom !== undefined && n >= opts.failFrom) throw new Error('stand-in worker stopped');
        signed += 1;
        return Buffer.concat(messages.map((m) => sign('sha256', m, { key, dsaEncoding: 'ieee-p1363' })));
      },
      close: async () => undefined,
    }),
  };
}

describe('the handoff pipeline (ops/handoff.ts)', function () {
  this.timeout(120_000);
  let tmp: string;
  let threadsSet: string | undefined;

  /** A new store whose factory holds DEVICES devices, and the integrator party to hand them to. */
  const factoryStore = async (name: string): Promise<{ store: EmbeddedStore; serials: string[] }> => {
    const store = await EmbeddedStore.init(join(tmp, name), new Date());
    const tdir = templatesDir(undefined);
    const common = { organization: 'Pipeline', protection: { passphrase: PASS }, passphrase: PASS, now: new Date() };
    await createCA(store, { name: 'root', template: await loadTemplate(tdir, 'root-ca'), ...common });
    await createCA(store, { name: 'issuing', template: await loadTemplate(tdir, 'issuing-ca'), issuer: 'root', ...common });
    await createParty(store, { name: 'factory', ca: 'root', template: await loadTemplate(tdir, 'party'), ...common });
    await createParty(store, { name: 'integrator', ca: 'root', template: await loadTemplate(tdir, 'party'), ...common });
    const issued = await provision(store, {
      ca: 'issuing',
      template: await loadTemplate(tdir, 'idevid'),
      generate: DEVICES,
      serialPattern: 'P{seq:5}',
      start: 1,
      passphrase: PASS,
      party: 'factory',
      now: new Date(),
    });
    return { store, serials: issued.devices.map((d) => d.serial) };
  };

  /** Every device handed on once: one result each, in order, all at attestation 1, and a chain of two in the store. */
  const assertAllHandedOnce = async (store: EmbeddedStore, serials: string[], r: TransferResult) => {
    assert.deepEqual(
      r.results.map((x) => x.serial),
      serials,
    );
    assert.ok(
      r.results.every((x) => x.ok && x.seq === 1),
      JSON.stringify(r.results.find((x) => !x.ok || x.seq !== 1)),
    );
    const tips = await store.getTips(serials);
    assert.ok(tips.every((t) => t?.length === 2));
    // A second run of the same handoff finds them with the integrator already: nothing signed. A handoff to
    // anyone else finds none of them held by the factory any more.
    const again = await transferDevices(store, {
      kind: 'handoff',
      serials: serials.slice(0, 3),
      party: 'factory',
      to: 'integrator',
      passphrase: PASS,
      now: new Date(),
    });
    assert.deepEqual(
      again.results.map((x) => [x.ok, x.already, x.seq]),
      [
        [true, true, 1],
        [true, true, 1],
        [true, true, 1],
      ],
    );
    const elsewhere = await transferDevices(store, {
      kind: 'handoff',
      serials: serials.slice(0, 3),
      party: 'factory',
      to: 'factory',
      passphrase: PASS,
      now: new Date(),
    });
    assert.deepEqual(
      elsewhere.results.map((x) => x.code),
      ['ERR_NOT_CUSTODIAN', 'ERR_NOT_CUSTODIAN', 'ERR_NOT_CUSTODIAN'],
    );
  };

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-pipeline-'));
    threadsSet = process.env.CUSTODY_THREADS;
    process.env.CUSTODY_THREADS = '1';
  });
  after(function () {
    if (threadsSet === undefined) delete process.env.CUSTODY_THREADS;
    else process.env.CUSTODY_THREADS = threadsSet;
    rmSync(tmp, { recursive: true, force: true });
  });

  it('signs pieces on this thread while the pool has not answered, and the rest on the pool', async function () {
    const { store, serials } = await factoryStore('slow');
    try {
      const pool = standInPool({ delay: 400 });
      const r = await transferDevices(store, { kind: 'handoff', serials, party: 'factory', to: 'integrator', passphrase: PASS, now: new Date() }, pool.start);
      assert.equal(r.warnings, undefined);
      assert.ok(pool.signed() > 0, 'the pool signed nothing');
      assert.ok(pool.signed() < PIECES, `the pool signed all ${PIECES} pieces: this thread signed none while it waited`);
      await assertAllHandedOnce(store, serials, r);
    } finally {
      await store.close();
    }
  });

  it('finishes the batch on this thread when the pool fails, with a warning saying so', async function () {
    const { store, serials } = await factoryStore('failing');
    try {
      const pool = standInPool({ failFrom: 3 });
      const r = await transferDevices(store, { kind: 'handoff', serials, party: 'factory', to: 'integrator', passphrase: PASS, now: new Date() }, pool.start);
      assert.equal(pool.signed(), 3);
      assert.equal(r.warnings?.length, 1);
      assert.match(r.warnings![0]!, /signing worker failed \(stand-in worker stopped\)/);
      await assertAllHandedOnce(store, serials, r);
    } finally {
      await store.close();
    }
  });

  it('finishes the batch on this thread when the pool fails before any answer', async function () {
    const { store, serials } = await factoryStore('dead');
    try {
      const pool = standInPool({ failFrom: 0 });
      const r = await transferDevices(store, { kind: 'handoff', serials, party: 'factory', to: 'integrator', passphrase: PASS, now: new Date() }, pool.start);
      assert.equal(pool.signed(), 0);
      assert.match(r.warnings![0]!, /signing worker failed/);
      await assertAllHandedOnce(store, serials, r);
    } finally {
      await store.close();
    }
  });
});
