/**
 * Fixtures for the code-signature tests: an owner's root CA, code signers from the shipped `code-signer` template
 * (and variants: no EKU, another EKU, short-lived), their prepared CMS signers, and CRLs. Keys are fresh per run;
 * names and dates are fixed.
 */
import { createAttestationSigner, type AttestationSigner } from '../../src/attestation/cms.js';
import type { KeyPair } from '../../src/crypto/provider.js';
import type { CertificateTemplate } from '../../src/templates/template.js';
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { readCertificateInfo, type CertificateInfo } from '../../src/x509/certificate-info.js';
import { createCRL } from '../../src/x509/crl-builder.js';
import { loadTemplate, provider } from '../x509/fixtures.js';

export { provider };
/** When the PKI is issued. */
export const ISSUED = new Date('2026-11-24T12:00:00Z');
/** When code is signed and checked. */
export const NOW = new Date('2026-12-06T23:00:00Z');

export interface Holder {
  keys: KeyPair;
  info: CertificateInfo;
  der: Uint8Array;
}

export interface CodeSigner extends Holder {
  signer: AttestationSigner;
}

async function issue(template: CertificateTemplate, issuer: Holder | undefined, vars: Record<string, string>, notBefore = ISSUED): Promise<Holder> {
  const keys = await provider.generateKeyPair(template.keyAlgorithm);
  const f = await CertificateFactory.create({
    template,
    issuer: issuer ? { certificate: issuer.info, key: issuer.keys.privateKey } : { key: keys.privateKey },
    provider,
    notBefore,
    vars,
  });
  const { der } = await f.issue({ spki: keys.publicKey.spki, vars });
  return { keys, info: readCertificateInfo(der), der };
}

/** A self-signed root CA of an owner. */
export const makeRoot = (name: string): Promise<Holder> => issue(loadTemplate('root-ca'), undefined, { organization: 'Fabrikam Clinics', name });

/** A code signer under `issuer` from the `code-signer` template, optionally changed, with its prepared signer. */
export async function makeCodeSigner(
  issuer: Holder,
  name: string,
  change: (t: CertificateTemplate) => CertificateTemplate = (t) => t,
  notBefore = ISSUED,
): Promise<CodeSigner> {
  const h = await issue(change(loadTemplate('code-signer')), issuer, { organization: 'Fabrikam Clinics', name }, notBefore);
  const signer = await createAttestationSigner({ certificate: h.der, key: h.keys.privateKey, provider });
  return { ...h, signer };
}

/** A CRL of `ca` revoking the given serials, current at NOW. */
export function crlOf(ca: Holder, serials: string[], crlNumber = 1): Promise<Uint8Array> {
  return createCRL({
    issuer: ca.info,
    key: ca.keys.privateKey,
    provider,
    thisUpdate: new Date('2026-12-01T00:00:00Z'),
    nextUpdate: new Date('2027-01-01T00:00:00Z'),
    crlNumber,
    revoked: serials.map((serialHex) => ({ serialHex, revokedAt: new Date('2026-12-02T00:00:00Z') })),
  });
}
