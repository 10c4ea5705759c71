/**
 * Every kind of DER custody writes, from the shipped templates: root and issuing CA, IDevID, party, firmware
 * signer and LDevID certificates, a CSR, CRLs (with and without entries), for the differential and mutation tests.
 */
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { createCSR } from '../../src/x509/csr.js';
import { createCRL } from '../../src/x509/crl-builder.js';
import { loadTemplate, makeCA, makeRoot, NOW, provider } from './fixtures.js';

export interface Written {
  certificates: Array<[string, Uint8Array]>;
  csrs: Array<[string, Uint8Array]>;
  crls: Array<[string, Uint8Array]>;
}

/** Builds the corpus (a few hundred milliseconds: key generation and signatures). */
export async function writtenByCustody(): Promise<Written> {
  const root = await makeRoot('Acme Root CA');
  const issuing = await makeCA('issuing-ca', root, 'Acme Issuing CA');
  const certificates: Array<[string, Uint8Array]> = [
    ['root', root.info.der],
    ['issuing', issuing.info.der],
  ];
  const leaves: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['idevid', { organization: 'Acme Devices', model: 'Sensor X1' }, { serial: 'SN0000042' }],
    ['party', { organization: 'Northwind Integration' }, { name: 'Northwind signer' }],
    ['firmware-signer', { organization: 'Acme Devices' }, { name: 'Acme firmware' }],
    ['ldevid', { organization: 'St. Example Clinic' }, { serial: 'SN0000042' }],
  ];
  for (const [template, vars, issueVars] of leaves) {
    try {
      const f = await CertificateFactory.create({
        template: loadTemplate(template),
        issuer: { certificate: issuing.info, key: issuing.keys.privateKey },
        provider,
        notBefore: NOW,
        vars,
      });
      const keys = await provider.generateKeyPair('P-256');
      certificates.push([template, (await f.issue({ spki: keys.publicKey.spki, vars: issueVars })).der]);
    } catch {
      // A template whose variables differ from this guess is left out; the others still cover its extensions.
    }
  }
  const key = await provider.generateKeyPair('P-256');
  const key384 = await provider.generateKeyPair('P-384');
  const csrs: Array<[string, Uint8Array]> = [
    [
      'csr-p256',
      await createCSR(
        [
          ['O', 'Acme'],
          ['CN', 'sensor'],
          ['serialNumber', 'SN0000042'],
        ],
        key.privateKey,
        provider,
      ),
    ],
    [
      'csr-p384',
      await createCSR(
        [
          ['C', 'DE'],
          ['O', 'Acme Grüße'],
          ['serialNumber', 'SN0000043'],
        ],
        key384.privateKey,
        provider,
      ),
    ],
  ];
  const base = { issuer: issuing.info, key: issuing.keys.privateKey, provider, thisUpdate: NOW, nextUpdate: new Date(NOW.getTime() + 7 * 86_400_000) };
  const crls: Array<[string, Uint8Array]> = [
    ['crl-empty', await createCRL({ ...base, crlNumber: 1, revoked: [] })],
    [
      'crl-entries',
      await createCRL({
        ...base,
        crlNumber: 2,
        revoked: [
          { serialHex: '0badc0de', revokedAt: new Date('2026-11-24T19:00:00Z'), reason: 'superseded' },
          { serialHex: '7f01', revokedAt: new Date('2026-11-24T19:30:00Z'), reason: 'keyCompromise' },
        ],
      }),
    ],
  ];
  return { certificates, csrs, crls };
}
