/**
 * The attestation parser names the rule a malformed structure breaks (RFC 5652, or what custody writes), under
 * its one code ERR_ATTESTATION_MALFORMED: each case rebuilds a real attestation with one part changed.
 */
import assert from 'node:assert/strict';
import { children, explicit, octetString, oid, readOne, seq, setOf, tlv, utcTime, type TLV } from '../../src/asn1/der.js';
import { OID } from '../../src/asn1/oids.js';
import { createAttestationSigner, parseAttestation, signAttestationSync } from '../../src/attestation/cms.js';
import { createStatement } from '../../src/attestation/statement.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { createTestPki, type TestPki } from './pki.js';

const provider = new NodeCryptoProvider();
const T = new Date('2026-11-24T15:00:00Z');

/** The parts of an attestation, as TLVs, to put back together with changes. */
interface Parts {
  ct: TLV;
  /** SignedData fields: version, digestAlgorithms, encapContentInfo, certificates, signerInfos. */
  sd: TLV[];
  /** SignerInfo fields: version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature. */
  si: TLV[];
  /** The signed attributes: content-type, signing-time, message-digest (DER order). */
  attrs: TLV[];
}

function partsOf(der: Uint8Array): Parts {
  const [ct, wrap] = children(readOne(der).value);
  const sd = children(readOne(wrap!.value).value);
  const si = children(children(sd[4]!.value)[0]!.value);
  return { ct: ct!, sd, si, attrs: children(si[3]!.value) };
}

/** An attestation from raw pieces: SignedData fields, SignerInfos, and each SignerInfo's fields. */
function build(p: Parts, o: { sd?: Uint8Array[]; signerInfos?: Uint8Array[]; si?: Uint8Array[]; attrs?: Uint8Array[] } = {}): Uint8Array {
  const attrs = setOf(...(o.attrs ?? p.attrs.map((a) => a.raw)));
  attrs[0] = 0xa0; // signedAttrs [0] IMPLICIT
  const si = seq(...(o.si ?? [...p.si.slice(0, 3).map((t) => t.raw), attrs, ...p.si.slice(4).map((t) => t.raw)]));
  const sd = o.sd ?? [...p.sd.slice(0, 4).map((t) => t.raw), tlv(0x31, ...(o.signerInfos ?? [si]))];
  return seq(p.ct.raw, explicit(0, seq(...sd)));
}

const attribute = (type: string, ...values: Uint8Array[]) => seq(oid(type), tlv(0x31, ...values));

describe('attestation structure messages (ERR_ATTESTATION_MALFORMED)', () => {
  let pki: TestPki;
  let der: Uint8Array;
  let p: Parts;
  before(async () => {
    pki = createTestPki();
    const signer = await createAttestationSigner({ certificate: pki.p256.certDer, key: pki.p256.key, provider });
    der = signAttestationSync(
      signer,
      createStatement({
        kind: 'birth',
        device: 'Acme/SN1',
        idevidSha256: 'a'.repeat(64),
        seq: 0,
        prev: null,
        from: signer.spkiSha256,
        to: 'b'.repeat(64),
        time: T,
        claims: {},
      }),
      T,
    );
    p = partsOf(der);
  });
  after(() => pki.cleanup());

  const refuses = (bad: Uint8Array, message: RegExp) =>
    assert.throws(
      () => parseAttestation(bad),
      (e: any) => {
        assert.equal(e.code, 'ERR_ATTESTATION_MALFORMED');
        assert.match(e.message, message);
        return true;
      },
    );

  it('rebuilds the original from its parts (the cases below change only what they say)', () => {
    assert.deepEqual(build(p), der);
    parseAttestation(build(p));
  });

  it('two SignerInfos, or none: exactly one, RFC 5652 5.1 allowing more', () => {
    const si = p.sd[4]!.value;
    refuses(
      build(p, { signerInfos: [si, si] }),
      /^attestation: SignedData holds 2 SignerInfos; a custody attestation has exactly one \(RFC 5652 5\.1 allows more, custody does not\)$/,
    );
    refuses(build(p, { signerInfos: [] }), /SignedData holds 0 SignerInfos; a custody attestation has exactly one/);
  });

  for (const [name, rfc, twice] of [
    ['signing-time', '11.3', () => attribute(OID.signingTime, utcTime(new Date('2027-01-01T00:00:00Z')))],
    ['message-digest', '11.2', () => attribute(OID.messageDigest, octetString(new Uint8Array(32).fill(7)))],
    ['content-type', '11.1', () => attribute(OID.contentType, oid(OID.signedData))],
  ] as const) {
    it(`${name} twice (with another value): one instance, RFC 5652 ${rfc}`, () => {
      const re = new RegExp(
        `^attestation: the signed attribute ${name} appears twice; RFC 5652 ${rfc.replace('.', '\\.')} requires exactly one value and one instance$`,
      );
      refuses(build(p, { attrs: [...p.attrs.map((a) => a.raw), twice()] }), re);
      // The same attribute repeated byte for byte, too (not merely "not in DER order").
      const same = p.attrs.find((a) => nameOf(a) === name)!.raw;
      refuses(build(p, { attrs: [...p.attrs.map((a) => a.raw), same] }), re);
      refuses(build(p, { attrs: [...p.attrs.map((a) => a.raw), same, same] }), new RegExp(`the signed attribute ${name} appears 3 times`));
    });
  }

  it('an attribute with two values: one value, RFC 5652 11.3', () => {
    const stamp = (d: string) => utcTime(new Date(d));
    const attrs = p.attrs.map((a) =>
      nameOf(a) === 'signing-time' ? attribute(OID.signingTime, stamp('2026-11-24T15:00:00Z'), stamp('2027-11-24T15:00:00Z')) : a.raw,
    );
    refuses(build(p, { attrs }), /^attestation: the signed attribute signing-time holds 2 values; RFC 5652 11\.3 requires exactly one value and one instance$/);
    const none = p.attrs.map((a) => (nameOf(a) === 'message-digest' ? attribute(OID.messageDigest) : a.raw));
    refuses(build(p, { attrs: none }), /the signed attribute message-digest holds 0 values; RFC 5652 11\.2/);
  });

  it('a signed attribute missing, or one custody does not write', () => {
    refuses(
      build(p, { attrs: p.attrs.filter((a) => nameOf(a) !== 'message-digest').map((a) => a.raw) }),
      /^attestation: the signed attribute message-digest is missing; a custody attestation signs exactly content-type, signing-time and message-digest$/,
    );
    refuses(build(p, { attrs: [] }), /the signed attribute content-type is missing/);
    refuses(
      build(p, { attrs: [...p.attrs.map((a) => a.raw), attribute('1.2.840.113549.1.9.52', seq())] }),
      /^attestation: unexpected signed attribute 1\.2\.840\.113549\.1\.9\.52; a custody attestation signs exactly/,
    );
  });

  it('a crls field, unsignedAttrs, a second certificate, a second digest algorithm', () => {
    const raws = p.sd.map((t) => t.raw);
    refuses(
      build(p, { sd: [...raws.slice(0, 4), tlv(0xa1), raws[4]!] }),
      /^attestation: SignedData has 6 fields; a custody attestation has exactly version, digestAlgorithms, encapContentInfo, certificates and signerInfos \(RFC 5652 5\.1; no crls\)$/,
    );
    const si = p.si.map((t) => t.raw);
    refuses(
      build(p, { si: [...si, tlv(0xa1, attribute(OID.signingTime, utcTime(T)))] }),
      /^attestation: SignerInfo has 7 fields; .*\(RFC 5652 5\.3; no unsignedAttrs\)$/,
    );
    refuses(
      build(p, { sd: [raws[0]!, raws[1]!, raws[2]!, tlv(0xa0, pki.p256.certDer, pki.p384.certDer), raws[4]!] }),
      /^attestation: certificates holds 2 entries; a custody attestation carries exactly its signer's certificate$/,
    );
    refuses(
      build(p, { sd: [raws[0]!, setOf(seq(oid(OID.sha256)), seq(oid(OID.sha384))), ...raws.slice(2)] }),
      /^attestation: digestAlgorithms lists 2 algorithms; a custody attestation lists exactly its signer's$/,
    );
  });
});

function nameOf(attr: TLV): string {
  const type = children(attr.value)[0]!.raw;
  for (const [name, o] of [
    ['content-type', OID.contentType],
    ['message-digest', OID.messageDigest],
    ['signing-time', OID.signingTime],
  ] as const) {
    if (Buffer.from(type).equals(Buffer.from(oid(o)))) return name;
  }
  return 'other';
}
