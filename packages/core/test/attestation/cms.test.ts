import assert from 'node:assert/strict';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createHash, webcrypto } from 'node:crypto';
import {
  createAttestationSigner,
  parseAttestation,
  readStatementBytes,
  signAttestation,
  signAttestationSync,
  verifyAttestationSignature,
  type AttestationSigner,
} from '../../src/attestation/cms.js';
import { createStatement, encodeStatement, type Statement } from '../../src/attestation/statement.js';
import { children, expectSeq, explicit, oid, readOID, readOne, seq, setOf, TAG, tlv } from '../../src/asn1/der.js';
import { OID } from '../../src/asn1/oids.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { ecdsaP1363ToDER } from '../../src/crypto/ecdsa-signature.js';
import { WebCryptoProvider } from '../../src/crypto/webcrypto-provider.js';
import { isCustodyError } from '../../src/errors.js';
import { createTestPki, type Party, type TestPki } from './pki.js';

const provider = new NodeCryptoProvider();
const T = new Date('2026-11-24T15:00:00Z');
const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function statementFor(signer: AttestationSigner, over: Partial<Parameters<typeof createStatement>[0]> = {}): Statement {
  return createStatement({
    kind: 'birth',
    device: 'Acme/SN000042',
    idevidSha256: 'a'.repeat(64),
    seq: 0,
    prev: null,
    from: signer.spkiSha256,
    to: 'b'.repeat(64),
    time: T,
    stage: 'factory',
    claims: {
      secureBoot: { enabled: true, method: 'AHAB' },
      debugPorts: { state: 'locked' },
      firmware: { version: '1.2.3', sha256: 'c'.repeat(64) },
      deviceIdentity: { idevid: true, keyStorage: 'secure-element' },
    },
    ...over,
  });
}

const signerFor = (p: Party) => createAttestationSigner({ certificate: p.certDer, key: p.key, provider });

describe('attestation CMS', () => {
  let pki: TestPki;
  before(() => {
    pki = createTestPki();
  });
  after(() => pki.cleanup());

  for (const which of ['p256', 'p384', 'noSki'] as const) {
    it(`round-trips a ${which} attestation through parse and verify`, async () => {
      const signer = await signerFor(pki[which]);
      const statement = statementFor(signer);
      const der = await signAttestation(signer, statement, T);
      const parsed = parseAttestation(der);
      assert.deepEqual(parsed.statement, statement);
      assert.deepEqual(parsed.statementBytes, encodeStatement(statement));
      assert.deepEqual(parsed.signerCertificate, pki[which].certDer);
      assert.equal(parsed.signingTime.getTime(), T.getTime());
      assert.equal(parsed.sidKind, which === 'noSki' ? 'issuerAndSerialNumber' : 'subjectKeyIdentifier');
      assert.equal(parsed.hash, which === 'p384' ? 'SHA-384' : 'SHA-256');
      assert.equal(sha256hex(parsed.signerSpki), statement.predicate.from);
      await verifyAttestationSignature(parsed, provider);
    });
  }

  it('signs through the async path of any provider (WebCrypto) and the node provider verifies it', async () => {
    const web = new WebCryptoProvider(webcrypto as any);
    const key = await web.importPrivateKey(pki.p256.keyPkcs8);
    const signer = await createAttestationSigner({ certificate: pki.p256.certDer, key, provider: web });
    const der = await signAttestation(signer, statementFor(signer), T);
    assert.throws(() => signAttestationSync(signer, statementFor(signer), T), TypeError);
    const parsed = parseAttestation(der);
    await verifyAttestationSignature(parsed, provider);
    await verifyAttestationSignature(parsed, web);
  });

  it('writes the signed attributes in DER SET OF order, signs them as SET OF, and is deterministic apart from the signature', async () => {
    const signer = await signerFor(pki.p256);
    for (const when of [T, new Date('2049-12-31T23:59:59Z'), new Date('2050-01-01T00:00:00Z'), new Date('1950-01-01T00:00:00Z')]) {
      const parsed = parseAttestation(signAttestationSync(signer, statementFor(signer), when));
      const items = children(readOne(parsed.signedAttrs, 0x31).value).map((t) => t.raw);
      assert.deepEqual(parsed.signedAttrs, setOf(...items.reverse()));
      assert.equal(parsed.signingTime.getTime(), when.getTime());
      await verifyAttestationSignature(parsed, provider);
    }
    const a = parseAttestation(signAttestationSync(signer, statementFor(signer), T));
    const b = parseAttestation(signAttestationSync(signer, statementFor(signer), T));
    assert.deepEqual(a.signedAttrs, b.signedAttrs);
  });

  it('encodes the signature exactly as ecdsaP1363ToDER does, over many signatures (short r and s included)', async () => {
    for (const which of ['p256', 'p384'] as const) {
      const signer = await signerFor(pki[which]);
      const statement = statementFor(signer);
      for (let i = 0; i < 400; i++) {
        const parsed = parseAttestation(signAttestationSync(signer, statement, T));
        assert.deepEqual(parsed.signature, ecdsaP1363ToDER(parsed.signatureP1363));
      }
    }
  });

  it('is read by pkijs as a SignedData with our signer, attributes and content', async () => {
    const signer = await signerFor(pki.p256);
    const statement = statementFor(signer);
    const der = signAttestationSync(signer, statement, T);
    const asn = asn1js.fromBER(der.slice().buffer);
    assert.equal(asn.offset, der.length);
    const ci = new pkijs.ContentInfo({ schema: asn.result });
    assert.equal(ci.contentType, pkijs.ContentInfo.SIGNED_DATA);
    const sd = new pkijs.SignedData({ schema: ci.content });
    assert.equal(sd.version, 3);
    assert.equal(sd.signerInfos.length, 1);
    assert.equal(sd.certificates?.length, 1);
    assert.deepEqual(new Uint8Array(sd.encapContentInfo.eContent!.valueBlock.valueHexView), encodeStatement(statement));
    const si = sd.signerInfos[0]!;
    assert.deepEqual(
      si.signedAttrs?.attributes.map((a) => a.type),
      ['1.2.840.113549.1.9.3', '1.2.840.113549.1.9.5', '1.2.840.113549.1.9.4'],
    );
    // pkijs re-encodes what it parsed: the same bytes back means we wrote nothing it had to normalise.
    assert.deepEqual(new Uint8Array(ci.toSchema().toBER(false)), der);
    const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });
    const ok = await sd.verify({ signer: 0, data: undefined, checkChain: false, extendedMode: false }, engine);
    assert.equal(ok, true);
  });

  it('refuses a flip of any bit-0 at every byte, or leaves only the signer certificate changed (the chain check catches that)', async () => {
    const signer = await signerFor(pki.p256);
    const der = signAttestationSync(signer, statementFor(signer), T);
    const certAt = indexOf(der, pki.p256.certDer);
    const codes = new Map<string, number>();
    for (let i = 0; i < der.length; i++) {
      const bad = der.slice();
      bad[i] ^= 0x01;
      let code = 'accepted';
      try {
        await verifyAttestationSignature(parseAttestation(bad), provider);
      } catch (e) {
        assert.ok(isCustodyError(e), `byte ${i}: ${String(e)}`);
        code = e.code;
      }
      if (code === 'accepted') {
        // Only bytes of the certificate that the attestation does not bind (its signature, names, validity).
        assert.ok(i >= certAt && i < certAt + pki.p256.certDer.length, `byte ${i} flipped and still accepted`);
      }
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    for (const code of codes.keys()) {
      assert.ok(
        [
          'ERR_ATTESTATION_MALFORMED',
          'ERR_ATTESTATION_SIGNATURE',
          'ERR_ATTESTATION_STATEMENT',
          'ERR_ATTESTATION_SIGNER',
          'ERR_CLAIMS_UNKNOWN',
          'ERR_CLAIMS_INVALID',
          'accepted',
        ].includes(code),
        code,
      );
    }
    assert.ok((codes.get('ERR_ATTESTATION_SIGNATURE') ?? 0) > 100);
    assert.ok((codes.get('ERR_ATTESTATION_MALFORMED') ?? 0) > 50);
  });

  it('refuses trailing bytes, truncation, and a second signer', async () => {
    const signer = await signerFor(pki.p256);
    const der = signAttestationSync(signer, statementFor(signer), T);
    const withTrailer = new Uint8Array(der.length + 1);
    withTrailer.set(der);
    assert.throws(() => parseAttestation(withTrailer), { code: 'ERR_ATTESTATION_MALFORMED' });
    assert.throws(() => parseAttestation(der.subarray(0, der.length - 1)), { code: 'ERR_ATTESTATION_MALFORMED' });
    assert.throws(() => parseAttestation(new Uint8Array(0)), { code: 'ERR_ATTESTATION_MALFORMED' });
    // Rebuild the SignedData with the one SignerInfo twice.
    const ci = children(readOne(der).value);
    const sd = children(readOne(ci[1]!.value).value);
    const si = children(sd[4]!.value)[0]!.raw;
    const { seq, explicit, tlv } = await import('../../src/asn1/der.js');
    const twice = seq(ci[0]!.raw, explicit(0, seq(...sd.slice(0, 4).map((t) => t.raw), tlv(0x31, si, si))));
    assert.throws(
      () => parseAttestation(twice),
      (e: any) => e.code === 'ERR_ATTESTATION_MALFORMED' && /holds 2 SignerInfos/.test(e.message),
    );
  });

  describe('readStatementBytes', () => {
    /** The walk as the TLV readers spell it: what readStatementBytes must agree with. */
    function reference(der: Uint8Array): Uint8Array {
      const [ct, wrap] = expectSeq(readOne(der), TAG.SEQUENCE, 2, 2);
      if (readOID(ct!) !== OID.signedData) throw new Error('not a SignedData');
      const [sd] = expectSeq(wrap!, 0xa0, 1, 1);
      const fields = expectSeq(sd!, TAG.SEQUENCE, 3);
      const [eType, eWrap] = expectSeq(fields[2]!, TAG.SEQUENCE, 2, 2);
      if (readOID(eType!) !== OID.data) throw new Error('not id-data');
      const [octets] = expectSeq(eWrap!, 0xa0, 1, 1);
      if (octets!.tag !== TAG.OCTET_STRING) throw new Error('not an OCTET STRING');
      return octets!.value;
    }
    const outcome = (f: () => Uint8Array): string => {
      try {
        return `ok ${Buffer.from(f()).toString('hex')}`;
      } catch (e) {
        return 'refused';
      }
    };

    it('returns the signed statement bytes, as parseAttestation finds them', async () => {
      for (const which of ['p256', 'p384', 'noSki'] as const) {
        const signer = await signerFor(pki[which]);
        const der = signAttestationSync(signer, statementFor(signer), T);
        assert.deepEqual(readStatementBytes(der), parseAttestation(der).statementBytes);
      }
    });

    it('agrees with a TLV walk on every truncation and on every byte outside the statement changed', async () => {
      const signer = await signerFor(pki.p256);
      const der = signAttestationSync(signer, statementFor(signer), T);
      const statement = readStatementBytes(der);
      const statementAt = Buffer.from(der).indexOf(Buffer.from(statement));
      let refused = 0;
      for (let n = 0; n < der.length; n++) {
        assert.throws(() => readStatementBytes(der.subarray(0, n)), { code: 'ERR_ATTESTATION_MALFORMED' });
      }
      // Every header counts: the outer ones, and those of the fields after the content (certificates, signerInfos).
      for (let i = 0; i < der.length; i++) {
        if (i >= statementAt && i < statementAt + statement.length) continue;
        for (const x of [0x01, 0x80, 0xff]) {
          const bad = Uint8Array.from(der);
          bad[i] ^= x;
          const got = outcome(() => readStatementBytes(bad));
          assert.equal(
            got,
            outcome(() => reference(bad)),
            `byte ${i} ^ 0x${x.toString(16)}`,
          );
          if (got === 'refused') {
            refused++;
            assert.throws(() => readStatementBytes(bad), { code: 'ERR_ATTESTATION_MALFORMED' });
          }
        }
      }
      assert.ok(refused > statementAt, `${refused} changes refused`);
      const withTrailer = new Uint8Array(der.length + 1);
      withTrailer.set(der);
      assert.throws(() => readStatementBytes(withTrailer), { code: 'ERR_ATTESTATION_MALFORMED' });
    });

    it('refuses a SignedData of two fields and content other than id-data', async () => {
      const signer = await signerFor(pki.p256);
      const der = signAttestationSync(signer, statementFor(signer), T);
      const ci = children(readOne(der).value);
      const sd = children(readOne(ci[1]!.value).value);
      const short = seq(ci[0]!.raw, explicit(0, seq(sd[0]!.raw, sd[1]!.raw)));
      assert.throws(
        () => readStatementBytes(short),
        (e: any) => e.code === 'ERR_ATTESTATION_MALFORMED' && /element count/.test(e.message),
      );
      const [, eWrap] = children(sd[2]!.value);
      const withFields = (...fields: Uint8Array[]) => seq(ci[0]!.raw, explicit(0, seq(...fields)));
      const raws = sd.map((t) => t.raw);
      // Fields after the content are counted, not read: six of them are accepted, as are three.
      assert.deepEqual(readStatementBytes(withFields(...raws, raws[4]!)), readStatementBytes(der));
      assert.deepEqual(readStatementBytes(withFields(...raws.slice(0, 3))), readStatementBytes(der));
      assert.throws(() => readStatementBytes(seq(ci[0]!.raw, explicit(0, seq(...raws)), oid(OID.data))), { code: 'ERR_ATTESTATION_MALFORMED' });
      assert.throws(() => readStatementBytes(seq(ci[0]!.raw, tlv(0xa0, seq(...raws), seq(...raws)))), { code: 'ERR_ATTESTATION_MALFORMED' });
      assert.throws(() => readStatementBytes(withFields(raws[0]!, raws[1]!, seq(oid(OID.data), eWrap!.raw, oid(OID.data)), raws[3]!, raws[4]!)), {
        code: 'ERR_ATTESTATION_MALFORMED',
      });
      assert.throws(() => readStatementBytes(withFields(raws[0]!, raws[1]!, seq(oid(OID.data), tlv(0xa0)), raws[3]!, raws[4]!)), {
        code: 'ERR_ATTESTATION_MALFORMED',
      });
      assert.throws(
        () =>
          readStatementBytes(withFields(raws[0]!, raws[1]!, seq(oid(OID.data), tlv(0xa0, tlv(0x24, tlv(0x04, readStatementBytes(der))))), raws[3]!, raws[4]!)),
        { code: 'ERR_ATTESTATION_MALFORMED' },
      );
      const otherType = seq(ci[0]!.raw, explicit(0, seq(sd[0]!.raw, sd[1]!.raw, seq(oid(OID.signedData), eWrap!.raw), ...sd.slice(3).map((t) => t.raw))));
      assert.throws(
        () => readStatementBytes(otherType),
        (e: any) => e.code === 'ERR_ATTESTATION_MALFORMED' && /id-data/.test(e.message),
      );
    });
  });

  it('refuses a signer certificate that does not match the sid', async () => {
    const a = await signerFor(pki.p256);
    const der = signAttestationSync(a, statementFor(a), T);
    const swapped = replaceBytes(der, pki.p256.certDer, pki.noSki.certDer);
    assert.throws(
      () => parseAttestation(swapped),
      (e: any) => e.code === 'ERR_ATTESTATION_MALFORMED' && /signer identifier/.test(e.message),
    );
  });

  it('refuses to sign a statement whose from is not the signer key, and a certificate not matching the key', async () => {
    const signer = await signerFor(pki.p256);
    assert.throws(() => signAttestationSync(signer, statementFor(signer, { from: 'd'.repeat(64) }), T), { code: 'ERR_ATTESTATION_SIGNER' });
    await assert.rejects(createAttestationSigner({ certificate: pki.p256.certDer, key: pki.p384.key, provider }), { code: 'ERR_ATTESTATION_SIGNER' });
    await assert.rejects(createAttestationSigner({ certificate: pki.noSki.certDer, key: pki.noSki.key, provider, sidKind: 'subjectKeyIdentifier' }), {
      code: 'ERR_ATTESTATION_SIGNER',
    });
    await assert.rejects(createAttestationSigner({ certificate: Uint8Array.of(1, 2, 3), key: pki.p256.key, provider }), { code: 'ERR_ATTESTATION_SIGNER' });
  });

  it('refuses at verification an attestation whose from names another key, even when validly signed', async () => {
    // A hand-made signer that skips the from check: the verifier must not rely on signers behaving.
    const signer = await signerFor(pki.p256);
    const lying = { ...signer, spkiSha256: 'd'.repeat(64) };
    const der = signAttestationSync(lying, statementFor(lying), T);
    await assert.rejects(verifyAttestationSignature(parseAttestation(der), provider), { code: 'ERR_ATTESTATION_SIGNER' });
  });

  it('benchmark: attestations signed per second against raw signSync (printed, not asserted)', async function () {
    const signer = await signerFor(pki.p256);
    const statement = statementFor(signer);
    const attrs = parseAttestation(signAttestationSync(signer, statement, T)).signedAttrs;
    const n = process.env.CI ? 2000 : 6000;
    for (let i = 0; i < 500; i++) {
      provider.signSync(pki.p256.key, attrs);
      signAttestationSync(signer, statement, T);
    }
    const rate = (f: () => void) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) f();
      return n / (Number(process.hrtime.bigint() - t0) / 1e9);
    };
    const raw1 = rate(() => provider.signSync(pki.p256.key, attrs));
    const att = rate(() => signAttestationSync(signer, statement, T));
    const raw2 = rate(() => provider.signSync(pki.p256.key, attrs));
    const der = signAttestationSync(signer, statement, T);
    const parse = rate(() => parseAttestation(der));
    const raw = (raw1 + raw2) / 2;
    const overheadUs = (1 / att - 1 / raw) * 1e6;
    console.log(
      `      raw signSync ${raw.toFixed(0)}/s, signAttestationSync ${att.toFixed(0)}/s (${((100 * att) / raw).toFixed(1)}% of raw, ` +
        `${overheadUs.toFixed(1)} µs overhead each), parseAttestation ${parse.toFixed(0)}/s, attestation ${der.length} bytes`,
    );
  });
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** `der` with `from` replaced by `to`, outer lengths rewritten by re-encoding the path to it. */
function replaceBytes(der: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  const at = indexOf(der, from);
  assert.ok(at >= 0);
  // Rebuild the structure: ContentInfo > [0] > SignedData > certificates [0].
  const ci = children(readOne(der).value);
  const sd = children(readOne(ci[1]!.value).value);
  const tag = (t: number, body: Uint8Array) => {
    const len = body.length;
    const head = len < 0x80 ? [t, len] : len < 0x100 ? [t, 0x81, len] : [t, 0x82, len >> 8, len & 0xff];
    const out = new Uint8Array(head.length + len);
    out.set(head);
    out.set(body, head.length);
    return out;
  };
  const cat = (...p: Uint8Array[]) => {
    const out = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of p) (out.set(x, o), (o += x.length));
    return out;
  };
  const sdBody = cat(sd[0]!.raw, sd[1]!.raw, sd[2]!.raw, tag(0xa0, to), sd[4]!.raw);
  return tag(0x30, cat(ci[0]!.raw, tag(0xa0, tag(0x30, sdBody))));
}
