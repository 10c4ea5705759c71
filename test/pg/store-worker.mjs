/**
 * A writer process for the concurrency test (test/concurrency.test.ts), on the built packages.
 *
 *   node store-worker.mjs '<json>'
 *
 * {"mode":"provision","location","setup","prefix","n"}: provisions n devices from CSRs made here (serials
 *   <prefix>0000...), with birth attestations, in small chunks so that commits interleave with other writers.
 * {"mode":"handoff","location","setup","serials":[...],"to"}: hands each device off (signing as the factory,
 *   its first custodian) as soon as it exists, until every one is decided: won, or lost to another writer.
 *
 * Prints one JSON line: {"committed":[...]} or {"won":[...],"lost":{"serial":"code"}}.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CertificateFactory,
  createAttestationSigner,
  createCSR,
  decodePEM,
  parseTemplate,
  provisionDevices,
  readCertificateInfo,
  signAttestationSync,
  birthStatement,
  signTransfer,
  CustodyError,
} from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { openStoreAt, readPrivateKeyFile } from '@custody/store';

const provider = new NodeCryptoProvider();
const TEMPLATES = fileURLToPath(new URL('../../certs-templates/', import.meta.url));
const args = JSON.parse(process.argv[2]);
// One clock for every worker of a run (the test passes it): a handoff is never dated before the birth it extends.
const now = args.now ? new Date(args.now) : new Date();

async function factorySigner(setup) {
  return createAttestationSigner({
    certificate: decodePEM(readFileSync(join(setup, 'factory.pem'), 'utf8'), ['CERTIFICATE']),
    key: readPrivateKeyFile(join(setup, 'factory.key.pem'), undefined),
    provider,
  });
}

async function provision(store) {
  const file = join(TEMPLATES, 'idevid.yaml');
  const template = parseTemplate(readFileSync(file, 'utf8'), file);
  const caDER = decodePEM(readFileSync(join(args.setup, 'ca.pem'), 'utf8'), ['CERTIFICATE']);
  const factory = await CertificateFactory.create({
    template,
    issuer: { certificate: readCertificateInfo(caDER), key: readPrivateKeyFile(join(args.setup, 'ca.key.pem'), undefined) },
    provider,
    notBefore: now,
    vars: { organization: 'Test', model: 'T1' },
  });
  const signer = await factorySigner(args.setup);
  const inputs = [];
  for (let i = 0; i < args.n; i++) {
    const kp = await provider.generateKeyPair('P-256');
    const serial = `${args.prefix}${String(i).padStart(4, '0')}`;
    inputs.push({
      source: serial,
      csr: await createCSR(
        [
          ['O', 'Test'],
          ['serialNumber', serial],
        ],
        kp.privateKey,
        provider,
      ),
    });
  }
  const birth = async (d) =>
    signAttestationSync(signer, birthStatement({ serial: d.serial, manufacturer: 'Test', certSha256: d.certSha256, signer, to: signer.spkiSha256, now }), now);
  const done = await provisionDevices(inputs, {
    factory,
    registry: store,
    provider,
    issuerName: 'root',
    now,
    model: 'T1',
    lot: args.prefix,
    chunkSize: 10,
    birth,
  });
  return { committed: done.map((d) => d.serial) };
}

async function handoff(store) {
  const signer = await factorySigner(args.setup);
  const pending = new Set(args.serials);
  const won = [];
  const lost = {};
  const deadline = Date.now() + 100_000;
  while (pending.size > 0 && Date.now() < deadline) {
    let progress = false;
    const batch = [];
    for (const serial of pending) {
      if (batch.length === 25) break;
      const device = await store.getDevice(serial);
      if (!device) continue;
      try {
        const { der, prev } = await signTransfer({ device, kind: 'handoff', signer, to: args.to, now, provider });
        batch.push({ serial, prev, attestation: der });
      } catch (e) {
        if (!(e instanceof CustodyError)) throw e;
        lost[serial] = e.code;
        pending.delete(serial);
        progress = true;
      }
    }
    if (batch.length > 0) {
      for (const r of await store.appendAttestations(batch)) {
        if (r.ok) won.push(r.serial);
        else lost[r.serial] = r.code;
        pending.delete(r.serial);
      }
      progress = true;
    }
    if (!progress) await new Promise((r) => setTimeout(r, 20));
  }
  return { won, lost, undecided: [...pending] };
}

const store = await openStoreAt(args.location);
try {
  const out = args.mode === 'provision' ? await provision(store) : await handoff(store);
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  await store.close();
}
