/** Builds a small PKI (root, issuing CA, devices) from the shipped templates, for the x509 tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { parseTemplate } from '../../src/templates/parse-template.js';
import type { CertificateTemplate } from '../../src/templates/template.js';
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { readCertificateInfo, type CertificateInfo } from '../../src/x509/certificate-info.js';
import type { KeyPair } from '../../src/crypto/provider.js';

export const templatesDir = fileURLToPath(new URL('../../../../certs-templates/', import.meta.url));
export const provider = new NodeCryptoProvider();
export const NOW = new Date('2026-11-24T12:00:00Z');

export function loadTemplate(name: string): CertificateTemplate {
  const file = `${templatesDir}${name}.yaml`;
  return parseTemplate(readFileSync(file, 'utf8'), file);
}

export interface TestCA {
  keys: KeyPair;
  info: CertificateInfo;
}

export async function makeRoot(name = 'Acme Root CA'): Promise<TestCA> {
  const keys = await provider.generateKeyPair('P-256');
  const f = await CertificateFactory.create({
    template: loadTemplate('root-ca'),
    issuer: { key: keys.privateKey },
    provider,
    notBefore: NOW,
    vars: { organization: 'Acme Devices', name },
  });
  const { der } = await f.issue({ spki: keys.publicKey.spki, vars: { name } });
  return { keys, info: readCertificateInfo(der) };
}

export async function makeCA(template: string, issuer: TestCA, name: string): Promise<TestCA> {
  const keys = await provider.generateKeyPair('P-256');
  const f = await CertificateFactory.create({
    template: loadTemplate(template),
    issuer: { certificate: issuer.info, key: issuer.keys.privateKey },
    provider,
    notBefore: NOW,
    vars: { organization: 'Acme Devices' },
  });
  const { der } = await f.issue({ spki: keys.publicKey.spki, vars: { name } });
  return { keys, info: readCertificateInfo(der) };
}
