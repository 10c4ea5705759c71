/**
 * A large provisioning batch issues on worker threads too (provision-pool.ts, provision-worker.ts): a worker
 * builds its issuing from the same inputs as this thread (issuing.ts), so what it issues must be what this
 * thread would have issued, and a batch spread over both must record, in input order, exactly what it writes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle, createVerifier, decodePEM, encodePEM, readCertificateInfo, toHex, type Prepared, type ProvisionedDevice } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { createIssuer } from '@custody/core/provisioning';
import { EmbeddedStore } from '@custody/store';
import { createCA, createParty } from '../src/ca.js';
import { loadTemplate, templatesDir } from '../src/context.js';
// The built modules: the worker script is the compiled provision-worker.js beside them.
import { provision, provisioningSetup } from '@custody/app/provision';
import { startProvisionPool } from '@custody/app/provision-pool';
import { issuingSpec } from '@custody/app/issuing';

const PASS = 'pool test passphrase';
const AT = new Date('2026-12-01T08:00:00Z');
const provider = new NodeCryptoProvider();

describe('provisioning on worker threads (provision-pool.ts)', function () {
  this.timeout(120_000);
  let tmp: string;
  let store: EmbeddedStore;
  let root: Uint8Array;
  let issuing: Uint8Array;

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-pool-'));
    store = await EmbeddedStore.init(join(tmp, 'store'), AT);
    const tdir = templatesDir(undefined);
    const c = { organization: 'Pool', protection: { passphrase: PASS }, passphrase: PASS, now: AT };
    await createCA(store, { name: 'root', template: await loadTemplate(tdir, 'root-ca'), ...c });
    await createCA(store, { name: 'issuing', template: await loadTemplate(tdir, 'issuing-ca'), issuer: 'root', ...c });
    await createParty(store, { name: 'factory', ca: 'root', template: await loadTemplate(tdir, 'party'), ...c });
    root = decodePEM((await store.getCA('root'))!.certificate, ['CERTIFICATE']);
    issuing = decodePEM((await store.getCA('issuing'))!.certificate, ['CERTIFICATE']);
  });
  after(async function () {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Every certificate field but the serial, and the birth attestation's claims, of a device that verifies. */
  async function profile(d: ProvisionedDevice) {
    const verifier = createVerifier({ trustAnchors: [root], provider, at: new Date(AT.getTime() + 60_000) });
    const report = await verifier.verify(createBundle({ certificate: d.certificate, chain: [issuing], attestations: d.attestations }));
    assert.equal(report.ok, true, `${d.serial}: ${report.code}`);
    const c = readCertificateInfo(d.certificate);
    return {
      serial: d.serial,
      spkiSha256: d.spkiSha256,
      certSha256: toHex(provider.digestSync('SHA-256', d.certificate)) === d.certSha256,
      certSerial: c.serialHex === d.certSerial,
      issuer: toHex(c.issuer),
      subject: c.subjectText,
      validity: [c.notBefore.toISOString(), c.notAfter.toISOString()],
      extensions: c.extensions.map((e) => [e.oid, e.critical, toHex(e.value)]),
      claims: report.effectiveClaims,
      record: [d.issuer, d.issuedAt, d.model, d.lot, d.source, d.attestations.length],
    };
  }

  it('a worker issues what this thread issues: same certificate profile, birth attestation and record, each verifying', async function () {
    const template = await loadTemplate(templatesDir(undefined), 'idevid');
    const { options, parts } = await provisioningSetup(store, { ca: 'issuing', template, passphrase: PASS, party: 'factory', model: 'P1', lot: 'L7', now: AT });
    const prepared: Prepared[] = [];
    for (let i = 0; i < 3; i++) {
      const kp = await provider.generateKeyPair('P-256');
      prepared.push({ source: `req-${i}`, serial: `W${i}`, spki: kp.publicKey.spki, spkiSha256: toHex(provider.digestSync('SHA-256', kp.publicKey.spki)) });
    }
    const here = createIssuer(options);
    const mine: ProvisionedDevice[] = [];
    for (const p of prepared) mine.push(await here(p));
    const pool = (await startProvisionPool(1))!;
    let theirs: ProvisionedDevice[];
    try {
      assert.deepEqual(await pool.pool.broadcast({ issuing: issuingSpec(parts)!, now: AT }), [true]);
      theirs = (await pool.pool.run({ issue: prepared })) as ProvisionedDevice[];
    } finally {
      await pool.pool.close();
    }
    assert.equal(theirs.length, 3);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await profile(theirs[i]!), await profile(mine[i]!));
      // Issued anew: a certificate serial of its own.
      assert.notEqual(theirs[i]!.certSerial, mine[i]!.certSerial);
    }
  });

  it('a batch issued on this thread and a worker records, in input order, exactly the certificates it writes', async function () {
    const template = await loadTemplate(templatesDir(undefined), 'idevid');
    const out = join(tmp, 'out');
    const saved = process.env.CUSTODY_THREADS;
    process.env.CUSTODY_THREADS = '1';
    let result;
    try {
      result = await provision(store, {
        ca: 'issuing',
        template,
        generate: 1000,
        serialPattern: 'T{seq:4}',
        start: 1,
        out,
        passphrase: PASS,
        party: 'factory',
        deviceKeyProtection: { unencrypted: true },
        now: AT,
        chunkSize: 500,
      });
    } finally {
      if (saved === undefined) delete process.env.CUSTODY_THREADS;
      else process.env.CUSTODY_THREADS = saved;
    }
    assert.deepEqual(
      result.devices.map((d) => d.serial),
      Array.from({ length: 1000 }, (_, i) => `T${String(i + 1).padStart(4, '0')}`),
    );
    // Every device verifies, and differs from the first only in what is its own.
    const own = (p: Awaited<ReturnType<typeof profile>>) => ({ ...p, serial: '', spkiSha256: '', subject: '', extensions: p.extensions.map(([oid]) => oid) });
    const first = own(await profile((await store.getDevice('T0001')) as ProvisionedDevice));
    for (const d of result.devices) {
      const recorded = (await store.getDevice(d.serial))!;
      assert.equal(recorded.certSerial, d.certSerial);
      assert.equal(readFileSync(join(out, `${d.serial}.pem`), 'utf8'), encodePEM(recorded.certificate, 'CERTIFICATE'));
      if (Number(d.serial.slice(1)) % 7 === 0) assert.deepEqual(own(await profile(recorded as ProvisionedDevice)), first);
    }
  });
});
