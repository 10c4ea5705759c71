import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { bitString, oid, seq } from '../../src/asn1/der.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import type { CurveName } from '../../src/crypto/provider.js';
import { algorithmName, createCSR, parseCSR, verifyCSR } from '../../src/x509/csr.js';

const provider = new NodeCryptoProvider();
const ALG = { 'SHA-1': '1.2.840.10045.4.1', 'SHA-256': '1.2.840.10045.4.3.2', 'SHA-384': '1.2.840.10045.4.3.3', 'SHA-512': '1.2.840.10045.4.3.4' } as const;

/** A CSR on `curve` whose info is signed with `hash` and labelled `label` (the same hash unless a test lies). */
async function csrWith(curve: CurveName, hash: keyof typeof ALG, label: keyof typeof ALG = hash): Promise<Uint8Array> {
  const kp = await provider.generateKeyPair(curve);
  const info = parseCSR(await createCSR([['serialNumber', 'D1']], kp.privateKey, provider)).info;
  const key = createPrivateKey({ key: Buffer.from(await provider.exportPrivateKey(kp.privateKey)), format: 'der', type: 'pkcs8' });
  const signature = sign(hash.replace('-', '').toLowerCase(), info, key);
  return seq(info, seq(oid(ALG[label])), bitString(new Uint8Array(signature)));
}

describe('CSR signature algorithms (RFC 5758 3.2)', () => {
  let csrSHA1: Uint8Array;
  before(async () => {
    csrSHA1 = await csrWith('P-256', 'SHA-1');
  });

  it('accepts a P-384 CSR signed with SHA-256, as openssl req -newkey ec:P-384 makes it (a regression of issue 21)', async () => {
    const csr = parseCSR(await csrWith('P-384', 'SHA-256'));
    assert.equal(csr.curve, 'P-384');
    assert.equal(csr.signatureHash, 'SHA-256');
    await verifyCSR(csr, provider);
  });

  for (const [curve, hash] of [
    ['P-256', 'SHA-256'],
    ['P-256', 'SHA-384'],
    ['P-256', 'SHA-512'],
    ['P-384', 'SHA-384'],
    ['P-384', 'SHA-512'],
  ] as const) {
    it(`accepts ${curve} with ${hash}`, async () => {
      await verifyCSR(parseCSR(await csrWith(curve, hash)), provider);
    });
  }

  it('refuses a signature made with another hash than its algorithm names: ERR_CSR_SIGNATURE, naming the algorithm', async () => {
    await assert.rejects(verifyCSR(parseCSR(await csrWith('P-384', 'SHA-384', 'SHA-256')), provider), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_CSR_SIGNATURE');
      assert.match(e.message, /ecdsa-with-SHA256 \(1\.2\.840\.10045\.4\.3\.2\), P-384 key/);
      return true;
    });
  });

  it('refuses ecdsa-with-SHA1 with ERR_CSR_ALGORITHM, by name and OID', async () => {
    assert.throws(
      () => parseCSR(csrSHA1),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_CSR_ALGORITHM');
        assert.match(e.message, /ecdsa-with-SHA1 \(1\.2\.840\.10045\.4\.1\) is not accepted/);
        return true;
      },
    );
  });
  it('names algorithms it knows, and leaves an unknown OID as it is', () => {
    assert.equal(algorithmName('1.2.840.113549.1.1.11'), 'sha256WithRSAEncryption (1.2.840.113549.1.1.11)');
    assert.equal(algorithmName('1.2.3.4'), '1.2.3.4');
  });
});
