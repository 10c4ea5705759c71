/**
 * Test PKI for releases, made with the openssl CLI in a temporary folder: a root, an issuing CA under it, a
 * firmware signer (codeSigning) under the issuing CA, a party (custodyAttestation only) under the same CA, and a
 * second root with a firmware signer of its own.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePrivateKeyHandle } from '../../src/crypto/node-provider.js';
import type { PrivateKeyHandle } from '../../src/crypto/provider.js';

export interface Signer {
  certDer: Uint8Array;
  key: PrivateKeyHandle;
}

export interface ReleasePki {
  dir: string;
  rootPath: string;
  root: Uint8Array;
  issuing: Uint8Array;
  firmware: Signer;
  party: Signer;
  otherRoot: Uint8Array;
  otherFirmware: Signer;
  cleanup(): void;
}

const EXTENSIONS = `
[root]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[firmware]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[party]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=1.3.6.1.4.1.58270.1.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

const der = (pem: string): Uint8Array => new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));

/** Makes the certificates; call `cleanup` in `after`. */
export function createReleasePki(): ReleasePki {
  const dir = mkdtempSync(join(tmpdir(), 'custody-release-'));
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  writeFileSync(join(dir, 'ext.cnf'), EXTENSIONS);
  const key = (name: string) => ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  const root = (name: string) => {
    key(name);
    ossl('req', '-new', '-key', `${name}.key`, '-subj', `/O=Acme/CN=${name}`, '-out', `${name}.csr`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-signkey', `${name}.key`, '-days', '30', '-extfile', 'ext.cnf', '-extensions', 'root', '-out', `${name}.pem`);
  };
  let serial = 0x100;
  const issue = (name: string, ca: string, section: string) => {
    key(name);
    ossl('req', '-new', '-key', `${name}.key`, '-subj', `/O=Acme/CN=${name}`, '-out', `${name}.csr`);
    ossl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      String(serial++),
      '-days',
      '30',
      '-extfile',
      'ext.cnf',
      '-extensions',
      section,
      '-out',
      `${name}.pem`,
    );
  };
  const signer = (name: string): Signer => ({
    certDer: der(readFileSync(join(dir, `${name}.pem`), 'utf8')),
    key: nodePrivateKeyHandle(createPrivateKey(readFileSync(join(dir, `${name}.key`)))),
  });
  root('root');
  issue('issuing', 'root', 'ca');
  issue('firmware', 'issuing', 'firmware');
  issue('party', 'issuing', 'party');
  root('other-root');
  issue('other-firmware', 'other-root', 'firmware');
  return {
    dir,
    rootPath: join(dir, 'root.pem'),
    root: der(readFileSync(join(dir, 'root.pem'), 'utf8')),
    issuing: der(readFileSync(join(dir, 'issuing.pem'), 'utf8')),
    firmware: signer('firmware'),
    party: signer('party'),
    otherRoot: der(readFileSync(join(dir, 'other-root.pem'), 'utf8')),
    otherFirmware: signer('other-firmware'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
