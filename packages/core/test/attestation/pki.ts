/**
 * Test PKI made with the openssl CLI in a temporary folder: a party CA and party attestation certificates
 * (keyUsage digitalSignature, extendedKeyUsage custodyAttestation 1.3.6.1.4.1.58270.1.1).
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePrivateKeyHandle } from '../../src/crypto/node-provider.js';
import type { PrivateKeyHandle } from '../../src/crypto/provider.js';

export interface Party {
  certPem: string;
  certPath: string;
  certDer: Uint8Array;
  keyPkcs8: Uint8Array;
  key: PrivateKeyHandle;
}

export interface TestPki {
  dir: string;
  caPath: string;
  /** P-256 party with a subjectKeyIdentifier. */
  p256: Party;
  /** P-384 party with a subjectKeyIdentifier. */
  p384: Party;
  /** P-256 party without subjectKeyIdentifier (issuerAndSerialNumber sid). */
  noSki: Party;
  cleanup(): void;
}

const EXTENSIONS = `
[custody_ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[custody_party]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=1.3.6.1.4.1.58270.1.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[custody_party_noski]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=1.3.6.1.4.1.58270.1.1
subjectKeyIdentifier=none
authorityKeyIdentifier=none
`;

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function pemToDER(pem: string): Uint8Array {
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
}

function party(dir: string, name: string, curve: 'P-256' | 'P-384', section: string, serial: string): Party {
  openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', `${name}.key`);
  openssl(dir, 'req', '-new', '-key', `${name}.key`, '-subj', `/O=Acme/CN=Acme ${name}`, '-out', `${name}.csr`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    serial,
    '-days',
    '30',
    '-extfile',
    'ext.cnf',
    '-extensions',
    section,
    '-out',
    `${name}.pem`,
  );
  const certPem = readFileSync(join(dir, `${name}.pem`), 'utf8');
  const keyObject = createPrivateKey(readFileSync(join(dir, `${name}.key`)));
  return {
    certPem,
    certPath: join(dir, `${name}.pem`),
    certDer: pemToDER(certPem),
    keyPkcs8: new Uint8Array(keyObject.export({ format: 'der', type: 'pkcs8' })),
    key: nodePrivateKeyHandle(keyObject),
  };
}

/** Makes the CA and three parties; call `cleanup` in `after`. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'custody-attestation-'));
  writeFileSync(join(dir, 'ext.cnf'), EXTENSIONS);
  openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ca.key');
  openssl(dir, 'req', '-new', '-key', 'ca.key', '-subj', '/O=Acme/CN=Acme Party CA', '-out', 'ca.csr');
  openssl(dir, 'x509', '-req', '-in', 'ca.csr', '-signkey', 'ca.key', '-days', '30', '-extfile', 'ext.cnf', '-extensions', 'custody_ca', '-out', 'ca.pem');
  return {
    dir,
    caPath: join(dir, 'ca.pem'),
    p256: party(dir, 'factory', 'P-256', 'custody_party', '0x1001'),
    p384: party(dir, 'integrator', 'P-384', 'custody_party', '0x1002'),
    noSki: party(dir, 'reseller', 'P-256', 'custody_party_noski', '0x1003'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
