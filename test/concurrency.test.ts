/**
 * Several writer processes on one store at once, on both backends: 4 provisioning processes (200 devices
 * each) and 2 handoff processes racing to hand off the same devices. Afterwards: every committed device is
 * there, no serial, key or certificate serial twice, exactly one handoff per device, no two attestations at
 * the same position of a chain.
 *
 * The writers run the built packages (packages/core/dist, packages/store/dist).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CertificateFactory, encodePEM, parseAttestation, parseTemplate, readCertificateInfo } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { initStoreAt, openStoreAt, writePrivateKeyFile } from '@custody/store';
import { createTestDatabase, requirePg } from './pg/cluster.js';

const WORKER = fileURLToPath(new URL('./pg/store-worker.mjs', import.meta.url));
const TEMPLATES = fileURLToPath(new URL('../certs-templates/', import.meta.url));
const STORE_DIST = fileURLToPath(new URL('../packages/store/dist/open.js', import.meta.url));
const PROVISIONERS = 4;
const PER_PROVISIONER = 200;
const HANDOFFS = 2;

const provider = new NodeCryptoProvider();
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function template(name: string) {
  const file = join(TEMPLATES, `${name}.yaml`);
  return parseTemplate(readFileSync(file, 'utf8'), file);
}

/** A root CA and a factory party, as PEM files the workers read (keys unencrypted: test material only). */
async function writeSetup(dir: string, now: Date): Promise<void> {
  const rootKeys = await provider.generateKeyPair('P-256');
  const rootVars = { name: 'Test Root', organization: 'Test' };
  const root = await (
    await CertificateFactory.create({ template: template('root-ca'), issuer: { key: rootKeys.privateKey }, provider, notBefore: now, vars: rootVars })
  ).issue({ spki: rootKeys.publicKey.spki, vars: rootVars });
  writeFileSync(join(dir, 'ca.pem'), encodePEM(root.der, 'CERTIFICATE'));
  writePrivateKeyFile(join(dir, 'ca.key.pem'), rootKeys.privateKey, { unencrypted: true });
  const partyKeys = await provider.generateKeyPair('P-256');
  const partyVars = { name: 'Test Factory', organization: 'Test' };
  const issuer = { certificate: readCertificateInfo(root.der), key: rootKeys.privateKey };
  const party = await (
    await CertificateFactory.create({ template: template('party'), issuer, provider, notBefore: now, vars: partyVars })
  ).issue({ spki: partyKeys.publicKey.spki, vars: partyVars });
  writeFileSync(join(dir, 'factory.pem'), encodePEM(party.der, 'CERTIFICATE'));
  writePrivateKeyFile(join(dir, 'factory.key.pem'), partyKeys.privateKey, { unencrypted: true });
}

function runWorker(args: object): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function concurrencySuite(backend: string, makeLocation: (ctx: Mocha.Context, tmp: string) => Promise<string>): void {
  describe(`concurrent writers: ${backend}`, function () {
    this.timeout(240_000);
    let tmp: string;
    let location: string;
    let now: Date;

    before(async function () {
      if (!existsSync(STORE_DIST)) throw new Error(`${STORE_DIST} is missing: build the store package first (npx tsc -p packages/store/tsconfig.json)`);
      tmp = mkdtempSync(join(tmpdir(), `custody-conc-${backend}-`));
      location = await makeLocation(this, tmp);
      now = new Date();
      await (await initStoreAt(location, now, { keyDir: join(tmp, 'keys') })).close();
      await writeSetup(tmp, now);
    });
    after(function () {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it(`${PROVISIONERS} provisioning and ${HANDOFFS} handoff processes: no duplicate, no lost record, no fork`, async function () {
      const prefixes = Array.from({ length: PROVISIONERS }, (_, w) => `W${w}-`);
      const serials = prefixes.flatMap((p) => Array.from({ length: PER_PROVISIONER }, (_, i) => `${p}${String(i).padStart(4, '0')}`));
      const recipients = Array.from({ length: HANDOFFS }, (_, h) => hex(Buffer.from(`recipient ${h}`)));
      const runs = await Promise.all([
        ...prefixes.map((prefix) => runWorker({ mode: 'provision', location, setup: tmp, prefix, n: PER_PROVISIONER, now })),
        ...recipients.map((to) => runWorker({ mode: 'handoff', location, setup: tmp, serials, to, now })),
      ]);
      for (const r of runs) assert.equal(r.code, 0, `a worker failed: ${r.err}`);
      const outputs = runs.map((r) => JSON.parse(r.out.trim().split('\n').at(-1)!));

      // Every provisioning process recorded all of its devices.
      const committed = outputs.slice(0, PROVISIONERS).flatMap((o) => o.committed as string[]);
      assert.equal(committed.length, serials.length);
      assert.equal(new Set(committed).size, serials.length);

      // Exactly one handoff per device won; the other lost with ERR_FORK or ERR_NOT_CUSTODIAN.
      const handoffs = outputs.slice(PROVISIONERS) as Array<{ won: string[]; lost: Record<string, string>; undecided: string[] }>;
      for (const h of handoffs) assert.deepEqual(h.undecided, []);
      const winners = new Map<string, number>();
      for (const h of handoffs) for (const s of h.won) winners.set(s, (winners.get(s) ?? 0) + 1);
      assert.equal(winners.size, serials.length);
      assert.ok(
        [...winners.values()].every((n) => n === 1),
        'a device was handed off twice',
      );
      const losses = handoffs.flatMap((h) => Object.entries(h.lost));
      assert.equal(losses.length, serials.length);
      assert.deepEqual(
        [...new Set(losses.map(([, code]) => code))].filter((c) => c !== 'ERR_FORK' && c !== 'ERR_NOT_CUSTODIAN'),
        [],
      );

      // The store: every device, each identity once, each chain birth then one handoff, linked by hash.
      const store = await openStoreAt(location);
      try {
        assert.equal(await store.countDevices(), serials.length);
        for (const p of prefixes) {
          const lot = await store.listLot(p);
          assert.equal(lot.length, PER_PROVISIONER);
          assert.equal(new Set(lot).size, PER_PROVISIONER);
        }
        const keys = new Set<string>();
        const certSerials = new Set<string>();
        for (const serial of serials) {
          const d = await store.getDevice(serial);
          assert.ok(d, `device ${serial} is missing`);
          keys.add(d.spkiSha256);
          certSerials.add(d.certSerial);
          assert.equal(d.attestations.length, 2, `device ${serial} has ${d.attestations.length} attestations`);
          d.attestations.forEach((a, seq) => assert.equal(parseAttestation(a).statement.predicate.seq, seq));
          assert.equal(parseAttestation(d.attestations[1]!).statement.predicate.prev, hex(d.attestations[0]!));
          const winner = handoffs.findIndex((h) => h.won.includes(serial));
          assert.equal(parseAttestation(d.attestations[1]!).statement.predicate.to, recipients[winner]);
        }
        assert.equal(keys.size, serials.length);
        assert.equal(certSerials.size, serials.length);
      } finally {
        await store.close();
      }
    });
  });
}

concurrencySuite('embedded', async (_ctx, tmp) => join(tmp, 'store'));
concurrencySuite('postgres', async (ctx, _tmp) => createTestDatabase(requirePg(ctx), 'custody_concurrency'));
