/**
 * The WebCrypto provider over @peculiar/webcrypto, the software WebCrypto the design names: the path a browser
 * verifier and an HSM through node-webcrypto-p11 take. Node's own webcrypto runs beside it, and every signature
 * one makes is checked by the other and by the node provider, so the three agree on P1363, low-S and PKCS#8.
 */
import assert from 'node:assert/strict';
import { createHash, webcrypto as nodeWebcrypto } from 'node:crypto';
import { Crypto as PeculiarCrypto } from '@peculiar/webcrypto';
import { createAttestationSigner, signAttestation } from '../../src/attestation/cms-sign.js';
import { parseAttestation } from '../../src/attestation/cms-parse.js';
import { verifyAttestationSignature } from '../../src/attestation/cms-verify.js';
import { createStatement } from '../../src/attestation/statement.js';
import { isLowS } from '../../src/crypto/ecdsa-signature.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import type { CurveName } from '../../src/crypto/provider.js';
import { WebCryptoProvider, type WebCryptoLike } from '../../src/crypto/webcrypto-provider.js';
import { createTestPki, type TestPki } from '../attestation/pki.js';

const node = new NodeCryptoProvider();
const T = new Date('2026-11-24T15:00:00Z');
const MESSAGE = new TextEncoder().encode('custody: a statement about one device');

const implementations: Array<[string, () => WebCryptoProvider]> = [
  ['@peculiar/webcrypto', () => new WebCryptoProvider(new PeculiarCrypto() as unknown as WebCryptoLike, 'peculiar')],
  ['node webcrypto', () => new WebCryptoProvider(nodeWebcrypto as unknown as WebCryptoLike)],
];

for (const [name, make] of implementations) {
  describe(`WebCryptoProvider over ${name}`, () => {
    const web = make();

    for (const curve of ['P-256', 'P-384'] as CurveName[]) {
      it(`signs low-S P1363 on ${curve} that the node provider verifies, and verifies the node provider's signatures`, async () => {
        const pair = await web.generateKeyPair(curve);
        const nodePublic = await node.importPublicKey(pair.publicKey.spki);
        for (let i = 0; i < 24; i++) {
          const sig = await web.sign(pair.privateKey, MESSAGE);
          assert.equal(sig.length, curve === 'P-256' ? 64 : 96);
          assert.ok(isLowS(sig, curve), 'every signature the provider hands out is low-S');
          assert.equal(await node.verify(nodePublic, MESSAGE, sig), true);
        }
        const nodePair = await node.generateKeyPair(curve);
        const sig = await node.sign(nodePair.privateKey, MESSAGE);
        const webPublic = await web.importPublicKey(nodePair.publicKey.spki);
        assert.equal(await web.verify(webPublic, MESSAGE, sig), true);
        const flipped = Uint8Array.from(sig);
        flipped[5] ^= 1;
        assert.equal(await web.verify(webPublic, MESSAGE, flipped), false, 'a changed signature is false, not a throw');
      });
    }

    it('exports PKCS#8 that the node provider imports and signs with under the same public key', async () => {
      const pair = await web.generateKeyPair('P-256');
      const pkcs8 = await web.exportPrivateKey(pair.privateKey);
      const again = await node.importPrivateKey(pkcs8);
      const sig = await node.sign(again, MESSAGE);
      assert.equal(await web.verify(await web.importPublicKey(pair.publicKey.spki), MESSAGE, sig), true);
    });

    it('digests as node:crypto does', async () => {
      assert.deepEqual(Buffer.from(await web.digest('SHA-256', MESSAGE)), createHash('sha256').update(MESSAGE).digest());
      assert.deepEqual(Buffer.from(await web.digest('SHA-384', MESSAGE)), createHash('sha384').update(MESSAGE).digest());
    });

    describe('attestations', () => {
      let pki: TestPki;
      before(() => {
        pki = createTestPki();
      });
      after(() => pki.cleanup());

      it('signs a CMS attestation that parses and verifies under the node provider', async () => {
        const key = await web.importPrivateKey(pki.p256.keyPkcs8);
        const signer = await createAttestationSigner({ certificate: pki.p256.certDer, key, provider: web });
        const statement = createStatement({
          kind: 'birth',
          device: 'Acme/SN000042',
          idevidSha256: 'a'.repeat(64),
          seq: 0,
          prev: null,
          from: signer.spkiSha256,
          to: 'b'.repeat(64),
          time: T,
          stage: 'factory',
          claims: { deviceIdentity: { idevid: true, keyStorage: 'secure-element' } },
        });
        const parsed = parseAttestation(await signAttestation(signer, statement, T));
        assert.deepEqual(parsed.statement, statement);
        await verifyAttestationSignature(parsed, node);
        await verifyAttestationSignature(parsed, web);
      });
    });
  });
}
