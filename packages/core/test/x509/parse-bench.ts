/**
 * Micro-benchmark of the certificate readers (not a mocha test): `npx tsx packages/core/test/x509/parse-bench.ts`.
 * Prints microseconds per parse for a party certificate, an IDevID and a CSR.
 */
import { parseCertificate } from '../../src/validation/certificate.js';
import { readCertificateInfo } from '../../src/x509/certificate-info.js';
import { readSignerCertificate } from '../../src/attestation/signer-certificate.js';
import { parseCSR, createCSR } from '../../src/x509/csr.js';
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { loadTemplate, makeCA, makeRoot, NOW, provider } from './fixtures.js';

const N = 20_000;

/** Best of five rounds of N/5, in CPU time: the machine is shared, and the minimum is the least disturbed. */
function time(name: string, f: () => unknown): void {
  for (let i = 0; i < 2000; i++) f();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < N / 5; i++) f();
    const d = process.cpuUsage(t0);
    best = Math.min(best, (d.user + d.system) / (N / 5));
  }
  console.log(`${name.padEnd(40)} ${best.toFixed(2)} us`);
}

const root = await makeRoot();
const issuing = await makeCA('issuing-ca', root, 'Acme Issuing CA');
const keys = await provider.generateKeyPair('P-256');
const f = await CertificateFactory.create({
  template: loadTemplate('idevid'),
  issuer: { certificate: issuing.info, key: issuing.keys.privateKey },
  provider,
  notBefore: NOW,
  vars: { organization: 'Acme Devices', model: 'X1' },
});
const device = (await f.issue({ spki: keys.publicKey.spki, vars: { serial: 'SN0000042' } })).der;
const csr = await createCSR(
  [
    ['CN', 'dev'],
    ['serialNumber', 'SN1'],
  ],
  keys.privateKey,
  provider,
);
for (const [name, der] of [
  ['issuing CA', issuing.info.der],
  ['IDevID', device],
] as const) {
  time(`parseCertificate ${name}`, () => parseCertificate(der));
  time(`readCertificateInfo ${name}`, () => readCertificateInfo(der));
  time(`readSignerCertificate ${name}`, () => readSignerCertificate(der, 'ERR_X'));
}
time('parseCSR', () => parseCSR(csr));
