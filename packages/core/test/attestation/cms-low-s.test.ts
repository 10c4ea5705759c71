/**
 * Attestation signatures are low-S (ecdsa-signature.ts says why): written so whoever made the signature, refused
 * by the parser, and found high by the registries' header walk (`isHighSAttestation`) exactly when the parser
 * refuses for that reason.
 */
import assert from 'node:assert/strict';
import { sign as nodeSign } from 'node:crypto';
import {
  createAttestationSigner,
  isHighSAttestation,
  parseAttestation,
  prepareEncodedStatement,
  signAttestation,
  signAttestationSync,
  type AttestationSigner,
} from '../../src/attestation/cms.js';
import { createStatement, encodeStatement, type Statement } from '../../src/attestation/statement.js';
import { isLowS } from '../../src/crypto/ecdsa-signature.js';
import { NodeCryptoProvider, nodeKeyObject } from '../../src/crypto/node-provider.js';
import type { CryptoProvider, CurveName } from '../../src/crypto/provider.js';
import { highSTwin, twinP1363, withSignature } from './high-s-twin.js';
import { createTestPki, type Party, type TestPki } from './pki.js';

const provider = new NodeCryptoProvider();
const T = new Date('2026-11-24T15:00:00Z');

function statementFor(signer: AttestationSigner): Statement {
  return createStatement({
    kind: 'handoff',
    device: 'Acme/SN000042',
    idevidSha256: 'a'.repeat(64),
    seq: 1,
    prev: 'e'.repeat(64),
    from: signer.spkiSha256,
    to: 'b'.repeat(64),
    time: T,
    claims: {},
  });
}

describe('low-S attestation signatures', () => {
  let pki: TestPki;
  before(() => {
    pki = createTestPki();
  });
  after(() => pki.cleanup());
  const signerFor = (p: Party) => createAttestationSigner({ certificate: p.certDer, key: p.key, provider });
  const curveOf = (which: 'p256' | 'p384' | 'noSki'): CurveName => (which === 'p384' ? 'P-384' : 'P-256');

  for (const which of ['p256', 'p384', 'noSki'] as const) {
    it(`${which}: refuses the high-S twin with ERR_ATTESTATION_HIGH_S, though its signature verifies`, async () => {
      const signer = await signerFor(pki[which]);
      const der = signAttestationSync(signer, statementFor(signer), T);
      const honest = parseAttestation(der);
      const twin = highSTwin(der, curveOf(which));
      assert.notDeepEqual(twin, der);
      // The attack is real: the twin is a valid ECDSA signature over the very same signed attributes.
      const key = await provider.importPublicKey(honest.signerSpki);
      assert.equal(await provider.verify(key, honest.signedAttrs, twinP1363(honest.signatureP1363, curveOf(which))), true);
      assert.throws(
        () => parseAttestation(twin),
        (e: any) => e.code === 'ERR_ATTESTATION_HIGH_S' && /high S \(s > n\/2\)/.test(e.message),
      );
      assert.equal(isHighSAttestation(der), false);
      assert.equal(isHighSAttestation(twin), true);
    });
  }

  it('writes low-S whoever made the signature: a raw signature handed to complete(), a provider that signs either twin', async () => {
    for (const which of ['p256', 'p384'] as const) {
      const curve = curveOf(which);
      const hash = which === 'p384' ? 'sha384' : 'sha256';
      // What a signer outside custody's providers (another worker, a foreign provider) may return: either twin.
      let high = 0;
      const rawSign = (data: Uint8Array): Uint8Array => {
        const raw = new Uint8Array(nodeSign(hash, data, { key: nodeKeyObject(pki[which].key), dsaEncoding: 'ieee-p1363' }));
        if (!isLowS(raw, curve)) high++;
        return raw;
      };
      const check = async (der: Uint8Array) => {
        const parsed = parseAttestation(der);
        assert.equal(isLowS(parsed.signatureP1363, curve), true);
        const key = await provider.importPublicKey(parsed.signerSpki);
        assert.equal(await provider.verify(key, parsed.signedAttrs, parsed.signatureP1363), true);
      };
      const signer = await signerFor(pki[which]);
      const content = encodeStatement(statementFor(signer));
      for (let i = 0; i < 64; i++) {
        const unsigned = prepareEncodedStatement(signer, content, T);
        await check(unsigned.complete(rawSign(unsigned.toBeSigned)));
      }
      const foreign: CryptoProvider = {
        name: 'raw',
        generateKeyPair: (c) => provider.generateKeyPair(c),
        importPrivateKey: (k) => provider.importPrivateKey(k),
        exportPrivateKey: (k) => provider.exportPrivateKey(k),
        importPublicKey: (k) => provider.importPublicKey(k),
        sign: async (_key, data) => rawSign(data),
        verify: (k, d, sig) => provider.verify(k, d, sig),
        digest: (h, d) => provider.digest(h, d),
        randomBytes: (n) => provider.randomBytes(n),
      };
      const viaForeign = await createAttestationSigner({ certificate: pki[which].certDer, key: pki[which].key, provider: foreign });
      for (let i = 0; i < 64; i++) await check(await signAttestation(viaForeign, statementFor(viaForeign), T));
      assert.ok(high > 8, `${high} high-S signatures among 128`);
    }
  });

  it('isHighSAttestation judges exactly what it can find: not bytes that are no attestation, not a curve it does not know', async () => {
    for (const junk of [new Uint8Array(0), Uint8Array.of(0x30, 0x00), new TextEncoder().encode('birth of SN1'), Uint8Array.of(0x30, 0x82, 0xff)]) {
      assert.equal(isHighSAttestation(junk), false);
    }
    const signer = await signerFor(pki.p256);
    const der = signAttestationSync(signer, statementFor(signer), T);
    const twin = highSTwin(der);
    // Every truncation of the twin: never a throw, and never judged high unless whole.
    for (let n = 0; n < twin.length; n++) assert.equal(isHighSAttestation(twin.subarray(0, n)), false, `truncated to ${n}`);
    // A signature that is not a SEQUENCE of two INTEGERs is the parser's to refuse, not this walk's.
    assert.equal(isHighSAttestation(withSignature(der, Uint8Array.of(0x04, 0x01, 0xff))), false);
    // Nor a signatureAlgorithm other than ECDSA with SHA-256 or SHA-384 (here ecdsa-with-SHA512): no curve, no n.
    const alg = Buffer.from(twin).lastIndexOf(Buffer.from('2a8648ce3d040302', 'hex'));
    const otherAlg = Uint8Array.from(twin);
    otherAlg[alg + 7] = 0x04;
    assert.equal(isHighSAttestation(otherAlg), false);
    assert.throws(() => parseAttestation(otherAlg), { code: 'ERR_ATTESTATION_MALFORMED' });
  });

  it('isHighSAttestation agrees with parseAttestation on single-byte changes of a twin and of its original', async () => {
    const signer = await signerFor(pki.p256);
    const der = signAttestationSync(signer, statementFor(signer), T);
    let judged = 0;
    for (const base of [der, highSTwin(der)]) {
      for (let i = 0; i < base.length; i++) {
        for (const x of [0x01, 0x80]) {
          const bad = Uint8Array.from(base);
          bad[i] ^= x;
          let code = 'accepted';
          try {
            parseAttestation(bad);
          } catch (e) {
            code = (e as { code: string }).code;
          }
          // Whatever the parser refuses as high-S, the walk finds; what it accepts, the walk lets through.
          if (code === 'ERR_ATTESTATION_HIGH_S' || code === 'accepted') {
            assert.equal(isHighSAttestation(bad), code === 'ERR_ATTESTATION_HIGH_S', `byte ${i} ^ ${x}: ${code}`);
            judged++;
          }
        }
      }
    }
    assert.ok(judged > 500, `${judged} changes judged`);
  });

  it('benchmark: isHighSAttestation and parseAttestation per attestation (printed, not asserted)', async () => {
    const signer = await signerFor(pki.p256);
    const der = signAttestationSync(signer, statementFor(signer), T);
    const rate = (f: () => unknown, n: number) => {
      for (let i = 0; i < n; i++) f();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) f();
      return Number(process.hrtime.bigint() - t0) / n;
    };
    const walk = rate(() => isHighSAttestation(der), 100_000);
    const parse = rate(() => parseAttestation(der), 5_000);
    console.log(`      isHighSAttestation ${walk.toFixed(0)} ns, parseAttestation ${(parse / 1000).toFixed(1)} µs`);
  });
});
