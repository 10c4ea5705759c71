import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { encodeImaSignature, imaKeyId, parseImaSignature, signImaFile, verifyImaSignature } from '../../src/code/ima.js';
import { sha1 } from '../../src/util/sha1.js';
import { spkiPublicKeyBits } from '../../src/x509/certificate-info.js';
import { utf8 } from '../../src/util/bytes.js';
import { parseCertificate } from '../../src/validation/certificate.js';
import { parseTemplate } from '../../src/templates/parse-template.js';
import { makeCodeSigner, makeRoot, provider } from './fixtures.js';

const FILE = utf8('#!/bin/sh\nexec /opt/app/run\n');

describe('util/sha1', () => {
  it('matches node:crypto on lengths around the block boundaries', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
      assert.equal(Buffer.from(sha1(data)).toString('hex'), createHash('sha1').update(data).digest('hex'), `length ${n}`);
    }
  });
});

describe('code/ima: IMA v2 signatures (signature_v2_hdr)', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    it(`writes type 3, version 2, the hash algo, the key id and a big-endian size; node:crypto verifies the ECDSA over the file (${curve})`, async () => {
      const { privateKey, publicKey } = await provider.generateKeyPair(curve);
      const bytes = await signImaFile(FILE, privateKey, provider);
      assert.equal(bytes[0], 3);
      assert.equal(bytes[1], 2);
      assert.equal(bytes[2], curve === 'P-256' ? 4 : 5);
      const keyId = createHash('sha1').update(spkiPublicKeyBits(publicKey.spki)).digest().subarray(16, 20);
      assert.deepEqual(Buffer.from(bytes.subarray(3, 7)), keyId);
      assert.equal((bytes[7]! << 8) | bytes[8]!, bytes.length - 9);
      const key = createPublicKey({ key: Buffer.from(publicKey.spki), format: 'der', type: 'spki' });
      assert.equal(nodeVerify(curve === 'P-256' ? 'sha256' : 'sha384', FILE, key, bytes.subarray(9)), true);
      const parsed = parseImaSignature(bytes);
      assert.deepEqual(encodeImaSignature(parsed), bytes);
      await verifyImaSignature(FILE, bytes, publicKey.spki, provider);
      const edited = FILE.slice();
      edited[3] ^= 1;
      await assert.rejects(verifyImaSignature(edited, bytes, publicKey.spki, provider), { code: 'ERR_CODE_SIGNATURE' });
      const other = await provider.generateKeyPair(curve);
      await assert.rejects(verifyImaSignature(FILE, bytes, other.publicKey.spki, provider), { code: 'ERR_CODE_SIGNATURE', message: /key id/ });
    });
  }

  it('computes the key id as ima-evm-utils calc_keyid_v2 does: SHA-1 of the subjectPublicKey bits, bytes 16..19', async () => {
    const { publicKey } = await provider.generateKeyPair('P-256');
    const bits = spkiPublicKeyBits(publicKey.spki);
    assert.equal(bits[0], 0x04);
    assert.equal(bits.length, 65);
    assert.deepEqual(imaKeyId(publicKey.spki), sha1(bits).subarray(16, 20));
  });

  it("the code-signer template's subjectKeyIdentifier is RFC 5280 method 1, so the kernel finds the key by the IMA key id", async () => {
    const root = await makeRoot('Fabrikam code CA');
    const signer = await makeCodeSigner(root, 'ops');
    const cert = parseCertificate(signer.der);
    assert.deepEqual(cert.subjectKeyId, new Uint8Array(createHash('sha1').update(spkiPublicKeyBits(cert.spki)).digest()));
    assert.deepEqual(cert.subjectKeyId!.subarray(16, 20), imaKeyId(cert.spki));
    // Other templates keep RFC 7093 method 1 (SHA-256, 160 bits); the root's is not the SHA-1.
    assert.deepEqual(
      parseCertificate(root.der).subjectKeyId,
      new Uint8Array(createHash('sha256').update(spkiPublicKeyBits(root.keys.publicKey.spki)).digest().subarray(0, 20)),
    );
    assert.throws(() => parseTemplate('name: x\nkind: code-signer\nsubject: {CN: x}\nvalidity: {days: 1}\nkeyIdentifierMethod: md5\n', 'x.yaml'), {
      code: 'ERR_TEMPLATE_INVALID',
    });
  });

  it('refuses malformed signatures with ERR_CODE_IMA_MALFORMED', async () => {
    const { privateKey } = await provider.generateKeyPair('P-256');
    const good = await signImaFile(FILE, privateKey, provider);
    const bad: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['a header only, short', good.slice(0, 5)],
      ['type 1 (a digest, not a signature)', Uint8Array.from([1, ...good.subarray(1)])],
      ['version 1', Uint8Array.from([3, 1, ...good.subarray(2)])],
      ['hash algo SHA-1', Uint8Array.from([3, 2, 2, ...good.subarray(3)])],
      ['a trailing byte', Uint8Array.from([...good, 0])],
      ['a truncated signature', good.slice(0, good.length - 1)],
      ['a size that lies', Uint8Array.from([...good.subarray(0, 7), 0, 1, ...good.subarray(9)])],
      ['a signature that is not DER', Uint8Array.from([...good.subarray(0, 9), 0x31, ...good.subarray(10)])],
    ];
    for (const [what, b] of bad) assert.throws(() => parseImaSignature(b), { code: 'ERR_CODE_IMA_MALFORMED' }, what);
  });
});
