import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { OID } from '../../src/asn1/oids.js';
import { signCode } from '../../src/code/code-signature.js';
import { createCodeVerifier, verifyCodeSignature } from '../../src/code/code-verifier.js';
import { utf8 } from '../../src/util/bytes.js';
import { crlOf, makeCodeSigner, makeRoot, NOW, provider, type CodeSigner, type Holder } from './fixtures.js';

const SCRIPT = utf8('#!/bin/sh\necho "rotate the logs"\n'.repeat(20));
const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('code/verifyCodeSignature: each refusal has its own code', () => {
  let root: Holder;
  let otherRoot: Holder;
  let good: CodeSigner;
  let sig: Uint8Array;
  before(async () => {
    root = await makeRoot('Fabrikam code CA');
    otherRoot = await makeRoot('Contoso code CA');
    good = await makeCodeSigner(root, 'fabrikam-ops');
    sig = (await signCode(good.signer, { name: 'rotate.sh', content: SCRIPT, type: 'script', version: '1.2.0', time: NOW })).der;
  });

  const check = (signature: Uint8Array, file = SCRIPT, more: { crls?: Uint8Array[]; cas?: Uint8Array[]; signers?: Uint8Array[]; now?: Date } = {}) =>
    verifyCodeSignature({
      trust: { ...(more.cas || !more.signers ? { cas: more.cas ?? [root.der] } : {}), ...(more.signers ? { signers: more.signers } : {}) },
      provider,
      file,
      signature,
      now: more.now ?? NOW,
      ...(more.crls ? { crls: more.crls } : {}),
    });

  it('accepts an unmodified file signed by a signer of the trusted CA, and says who signed it', async () => {
    const v = await check(sig);
    assert.equal(v.statement.subject[0].name, 'rotate.sh');
    assert.equal(v.statement.subject[0].digest.sha256, sha256hex(SCRIPT));
    assert.deepEqual(v.statement.predicate, { type: 'script', version: '1.2.0', signer: good.signer.spkiSha256, time: '2026-12-06T23:00:00Z' });
    assert.equal(v.signer.trustedBy, 'ca');
    assert.equal(v.signer.spkiSha256, good.signer.spkiSha256);
    assert.equal(v.signer.certSha256, sha256hex(good.der));
    assert.equal(v.signer.issuerSha256, sha256hex(root.der));
    assert.match(v.signer.subject, /CN=fabrikam-ops/);
  });

  it('accepts the file given by its SHA-256 alone', async () => {
    const v = await createCodeVerifier({ trust: { cas: [root.der] }, provider }).verify({ sha256: sha256hex(SCRIPT), signature: sig, now: NOW });
    assert.equal(v.signer.trustedBy, 'ca');
  });

  it('refuses tampered code (one byte changed) with ERR_CODE_DIGEST', async () => {
    const edited = SCRIPT.slice();
    edited[20] ^= 1;
    await assert.rejects(check(sig, edited), { code: 'ERR_CODE_DIGEST' });
  });

  it('refuses a signer of a CA the device does not trust with ERR_CODE_SIGNER_UNTRUSTED', async () => {
    const stranger = await makeCodeSigner(otherRoot, 'contoso-ops');
    const s = (await signCode(stranger.signer, { name: 'rotate.sh', content: SCRIPT, type: 'script', time: NOW })).der;
    await assert.rejects(check(s), { code: 'ERR_CODE_SIGNER_UNTRUSTED' });
  });

  it('refuses a signer without the codeSigning EKU with ERR_CODE_SIGNER_EKU', async () => {
    const noEku = await makeCodeSigner(root, 'no-eku', (t) => ({ ...t, extendedKeyUsage: undefined }));
    const s = (await signCode(noEku.signer, { name: 'rotate.sh', content: SCRIPT, type: 'script', time: NOW })).der;
    await assert.rejects(check(s), { code: 'ERR_CODE_SIGNER_EKU' });
    const tls = await makeCodeSigner(root, 'tls', (t) => ({ ...t, extendedKeyUsage: { oids: [OID.serverAuth, OID.anyExtendedKeyUsage], critical: false } }));
    const s2 = (await signCode(tls.signer, { name: 'rotate.sh', content: SCRIPT, type: 'script', time: NOW })).der;
    await assert.rejects(check(s2), { code: 'ERR_CODE_SIGNER_EKU', message: /anyExtendedKeyUsage does not count/ });
  });

  it('refuses an expired code-signing certificate with ERR_CODE_SIGNER_EXPIRED, and one not yet valid with _NOT_YET_VALID', async () => {
    const shortLived = await makeCodeSigner(root, 'short', (t) => ({ ...t, validity: { days: 5 } }), new Date('2026-11-24T12:00:00Z'));
    const s = (await signCode(shortLived.signer, { name: 'rotate.sh', content: SCRIPT, type: 'script', time: new Date('2026-11-25T00:00:00Z') })).der;
    await check(s, SCRIPT, { now: new Date('2026-11-26T00:00:00Z') });
    await assert.rejects(check(s), { code: 'ERR_CODE_SIGNER_EXPIRED' });
    await assert.rejects(check(s, SCRIPT, { now: new Date('2026-11-01T00:00:00Z') }), { code: 'ERR_CODE_SIGNER_NOT_YET_VALID' });
  });

  it("refuses a revoked code-signing certificate with ERR_CODE_SIGNER_REVOKED when the CA's CRL is given", async () => {
    const revoked = await makeCodeSigner(root, 'leaked');
    const s = (await signCode(revoked.signer, { name: 'rotate.sh', content: SCRIPT, type: 'script', time: NOW })).der;
    const crl = await crlOf(root, [revoked.info.serialHex]);
    await check(s);
    await assert.rejects(check(s, SCRIPT, { crls: [crl] }), { code: 'ERR_CODE_SIGNER_REVOKED' });
    await check(sig, SCRIPT, { crls: [crl] });
  });

  it('refuses a CA key as a code signer with ERR_CODE_SIGNER_PROFILE', async () => {
    const caAsSigner = await makeCodeSigner(root, 'ca-signer', (t) => ({
      ...t,
      basicConstraints: { ca: true, critical: true },
      keyUsage: { usages: ['digitalSignature', 'keyCertSign'], critical: true },
    }));
    const s = (await signCode(caAsSigner.signer, { name: 'rotate.sh', content: SCRIPT, type: 'script', time: NOW })).der;
    await assert.rejects(check(s), { code: 'ERR_CODE_SIGNER_PROFILE' });
  });

  it('accepts a pinned signer without any CA, and refuses an unpinned one', async () => {
    const pinned = await check(sig, SCRIPT, { signers: [good.der] });
    assert.equal(pinned.signer.trustedBy, 'pinned');
    assert.equal(pinned.signer.issuerSha256, undefined);
    const other = await makeCodeSigner(root, 'other');
    await assert.rejects(check(sig, SCRIPT, { signers: [other.der] }), { code: 'ERR_CODE_SIGNER_UNTRUSTED' });
    await assert.rejects(check(sig, SCRIPT, { signers: [good.der], now: new Date('2030-01-01T00:00:00Z') }), { code: 'ERR_CODE_SIGNER_EXPIRED' });
  });

  it('refuses a signature whose bytes were changed with ERR_CODE_SIGNATURE or ERR_CODE_SIGNATURE_MALFORMED, never accepts it', async () => {
    // Flip one bit of the statement's signer hash inside the CMS: the message digest no longer matches.
    const text = Buffer.from(sig).toString('latin1');
    const at = text.indexOf(good.signer.spkiSha256);
    const changed = sig.slice();
    changed[at] = changed[at] === 0x61 ? 0x62 : 0x61;
    await assert.rejects(check(changed), { code: 'ERR_CODE_SIGNATURE' });
    for (let i = 0; i < sig.length; i += 7) {
      const b = sig.slice();
      b[i] ^= 0x01;
      await assert.rejects(check(b), (e: { code?: string }) =>
        /^ERR_CODE_(SIGNATURE|SIGNATURE_MALFORMED|SIGNER_UNTRUSTED|SIGNER_PROFILE|SIGNER_EKU)$/.test(e.code ?? ''),
      );
    }
  });

  it('refuses an attestation or garbage given as a code signature with ERR_CODE_SIGNATURE_MALFORMED', async () => {
    await assert.rejects(check(utf8('not a signature')), { code: 'ERR_CODE_SIGNATURE_MALFORMED' });
    await assert.rejects(check(new Uint8Array(20_000)), { code: 'ERR_CODE_SIGNATURE_MALFORMED' });
  });

  it('needs a CA or a pinned signer', () => {
    assert.throws(() => createCodeVerifier({ trust: {}, provider }), TypeError);
  });
});
