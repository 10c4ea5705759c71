/**
 * Strictness of the one certificate parser and the names module (issue 19): each refused encoding, and the
 * internal errors that used to reach users, as regression tests.
 */
import assert from 'node:assert/strict';
import { children, oid, readOne, seq, setOf, tlv, TAG, utf8String, printableString, boolean, octetString, nullValue } from '../../src/asn1/der.js';
import { CustodyError } from '../../src/errors.js';
import { parseCertificate } from '../../src/validation/certificate.js';
import { namesEqual, parseName } from '../../src/validation/name.js';
import { readSignerCertificate } from '../../src/attestation/signer-certificate.js';
import { readCertificateInfo } from '../../src/x509/certificate-info.js';
import { parseCSR } from '../../src/x509/csr.js';
import { writtenByCustody, type Written } from '../x509/written.js';

const CN = '2.5.4.3';
const O = '2.5.4.10';
const atv = (type: string, value: Uint8Array) => seq(oid(type), value);
const name = (...rdns: Uint8Array[]) => seq(...rdns);

/** `der` with field `i` of its tbsCertificate replaced by `f(old)` (the signature no longer matters to a parse). */
function editTBS(der: Uint8Array, i: number, f: (old: Uint8Array) => Uint8Array): Uint8Array {
  const [tbs, alg, sig] = children(readOne(der).value);
  const fields = children(tbs!.value).map((t) => t.raw);
  fields[i] = f(fields[i]!);
  return seq(seq(...fields), alg!.raw, sig!.raw);
}

function refuses(der: Uint8Array, message: RegExp): void {
  assert.throws(
    () => parseCertificate(der),
    (e: unknown) => e instanceof CustodyError && e.code === 'ERR_CERT_PARSE' && message.test(e.message),
    String(message),
  );
  assert.throws(() => readCertificateInfo(der), { code: 'ERR_CERT_PARSE' });
  assert.throws(() => readSignerCertificate(der, 'ERR_ATTESTATION_MALFORMED'), { code: 'ERR_ATTESTATION_MALFORMED' });
}

describe('strict Name parsing', () => {
  it('refuses attribute values with a non-string or non-universal tag', () => {
    assert.throws(() => parseName(name(setOf(atv(CN, Uint8Array.of(0x02, 0x01, 0x05))))), { code: 'ERR_CERT_PARSE', message: /tag 0x2/ });
    assert.throws(() => parseName(name(setOf(atv(CN, Uint8Array.of(0x80, 0x01, 0x41))))), { code: 'ERR_CERT_PARSE', message: /tag 0x80/ });
    assert.throws(() => parseName(name(setOf(atv(CN, tlv(0x2c, utf8String('a')))))), { code: 'ERR_CERT_PARSE', message: /tag 0x2c/ });
    assert.throws(() => parseName(name(setOf(atv(CN, boolean(true))))), { code: 'ERR_CERT_PARSE' });
  });

  it('checks string contents against the declared type', () => {
    const bad: Array<[number, number[], RegExp]> = [
      [0x1c, [0, 0, 0, 0x41, 0], /multiple of 4/],
      [0x1e, [0, 0x41, 0], /odd length/],
      [0x13, [0x61, 0x40], /PrintableString/],
      [0x0c, [0xc3, 0x28], /UTF-8/],
      [0x16, [0x80], /IA5String/],
      [0x12, [0x31, 0x41], /NumericString/],
    ];
    for (const [tag, bytes, message] of bad)
      assert.throws(() => parseName(name(setOf(atv(CN, tlv(tag, Uint8Array.from(bytes)))))), { code: 'ERR_CERT_PARSE', message });
    assert.equal(parseName(name(setOf(atv(CN, tlv(0x1e, Uint8Array.of(0, 0x41, 0, 0x42)))))).text, 'CN=AB');
    assert.equal(parseName(name(setOf(atv(CN, tlv(0x1c, Uint8Array.of(0, 1, 0xf6, 0x00)))))).text, 'CN=\u{1f600}');
  });

  it('refuses a multi-valued RDN out of SET OF order and an attribute type twice in one RDN', () => {
    const a = atv(O, utf8String('Acme'));
    const b = atv(CN, utf8String('x'));
    const sorted = [a, b].sort((x, y) => Buffer.compare(x, y));
    assert.equal(parseName(name(tlv(TAG.SET, ...sorted))).rdns[0]!.length, 2);
    assert.throws(() => parseName(name(tlv(TAG.SET, ...[...sorted].reverse()))), { code: 'ERR_CERT_PARSE', message: /SET OF order/ });
    assert.throws(() => parseName(name(tlv(TAG.SET, atv(CN, utf8String('a')), atv(CN, utf8String('b'))))), {
      code: 'ERR_CERT_PARSE',
      message: /twice in one RDN/,
    });
    assert.throws(() => parseName(name(tlv(TAG.SET))), { code: 'ERR_CERT_PARSE', message: /empty RDN/ });
  });

  it('compares names under RFC 5280 7.1, across string types, and renders RFC 4514', () => {
    const x = parseName(name(setOf(atv(O, printableString('Acme  Devices'))), setOf(atv(CN, utf8String('Issuing CA')))));
    const bmp = (s: string) => tlv(0x1e, Uint8Array.from([...s].flatMap((c) => [0, c.charCodeAt(0)])));
    const y = parseName(name(setOf(atv(O, utf8String(' acme devices '))), setOf(atv(CN, bmp('Issuing CA')))));
    const z = parseName(name(setOf(atv(O, utf8String('Acme Devices'))), setOf(atv(CN, utf8String('Other CA')))));
    assert.ok(namesEqual(x, y));
    assert.ok(!namesEqual(x, z));
    assert.ok(!namesEqual(x, parseName(name(setOf(atv(CN, utf8String('Issuing CA'))), setOf(atv(O, utf8String('Acme Devices')))))));
    assert.equal(x.text, 'O=Acme  Devices, CN=Issuing CA');
    assert.equal(x.rfc4514, 'CN=Issuing CA,O=Acme  Devices');
    const escaped = parseName(name(setOf(atv(CN, utf8String(' a,b+c"#'))), setOf(atv('1.2.3.4', utf8String('#x')))));
    assert.equal(escaped.rfc4514, '1.2.3.4=\\#x,CN=\\ a\\,b\\+c\\"#');
  });
});

describe('strict certificate parsing', () => {
  let w: Written;
  let leaf: Uint8Array;
  before(async () => {
    w = await writtenByCustody();
    leaf = w.certificates.find(([n]) => n === 'idevid')![1];
  });

  it('parses what custody writes, through every projection', () => {
    for (const [, der] of w.certificates) {
      const c = parseCertificate(der);
      assert.equal(readCertificateInfo(der).subjectText, c.subject.text);
      assert.deepEqual(readSignerCertificate(der, 'ERR_X').spki, c.spki);
    }
  });

  it('refuses critical encoded as an explicit FALSE (DER omits the DEFAULT)', () => {
    const fields = children(readOne(leaf).value);
    const tbs = children(fields[0]!.value);
    const extIndex = tbs.length - 1;
    refuses(
      editTBS(leaf, extIndex, () => tlv(0xa3, seq(seq(oid('2.5.29.14'), boolean(false), octetString(octetString(Uint8Array.of(1, 2))))))),
      /critical/,
    );
  });

  it('refuses an ECDSA signature AlgorithmIdentifier with parameters, a BOOLEAN or a truncated OID as parameters', () => {
    refuses(
      editTBS(leaf, 2, () => seq(oid('1.2.840.10045.4.3.2'), nullValue())),
      /takes no parameters/,
    );
    refuses(
      editTBS(leaf, 2, () => seq(oid('1.2.840.113549.1.1.11'), boolean(true))),
      /parameters with tag 0x1/,
    );
    refuses(
      editTBS(leaf, 2, () => seq(oid('1.2.840.113549.1.1.11'), Uint8Array.of(0x06, 0x02, 0x2a, 0x86))),
      /truncated OID/,
    );
    refuses(
      editTBS(leaf, 2, () => seq(oid('1.2.840.113549.1.1.11'), Uint8Array.of(0x05, 0x01, 0x00))),
      /NULL/,
    );
  });

  it('refuses a key BIT STRING with unused bits and EC key parameters that are not a namedCurve', () => {
    refuses(
      editTBS(leaf, 6, (spki) => {
        const [alg, key] = children(readOne(spki).value);
        const bits = key!.value.slice();
        bits[0] = 1;
        return seq(alg!.raw, tlv(TAG.BIT_STRING, bits));
      }),
      /unused bits/,
    );
    refuses(
      editTBS(leaf, 6, (spki) => seq(seq(oid('1.2.840.10045.2.1'), nullValue()), children(readOne(spki).value)[1]!.raw)),
      /namedCurve/,
    );
  });

  it('refuses GeneralizedTime year 0000', () => {
    refuses(
      editTBS(leaf, 4, (v) => seq(children(readOne(v).value)[0]!.raw, tlv(TAG.GENERALIZED_TIME, new TextEncoder().encode('00001231235959Z')))),
      /0000/,
    );
  });

  it('refuses a certificate over 64 KiB before reading it', () => {
    const big = new Uint8Array(65 * 1024);
    big.set([0x30, 0x83, 0x01, 0x03, 0xfc]);
    refuses(big, /larger than 65536/);
  });
});

describe('strict CSR parsing', () => {
  let csr: Uint8Array;
  before(async () => {
    csr = (await writtenByCustody()).csrs[0]![1];
  });

  it('refuses an empty AlgorithmIdentifier with ERR_CSR_PARSE (was "Cannot read properties of undefined (reading \'tag\')")', () => {
    const [info, , sig] = children(readOne(csr).value);
    const broken = seq(info!.raw, seq(), sig!.raw);
    assert.throws(
      () => parseCSR(broken),
      (e: unknown) => e instanceof CustodyError && e.code === 'ERR_CSR_PARSE' && !/Cannot read|undefined/.test(e.message),
    );
  });

  it('refuses a CertificationRequest with missing fields, a bad subject or bad attributes, never another exception', () => {
    const [info, alg, sig] = children(readOne(csr).value);
    const f = children(info!.value).map((t) => t.raw);
    for (const bad of [
      seq(info!.raw, alg!.raw),
      seq(seq(), alg!.raw, sig!.raw),
      seq(seq(f[0]!, f[1]!), alg!.raw, sig!.raw),
      seq(seq(f[0]!, seq(setOf(atv(CN, Uint8Array.of(0x02, 0x01, 0x01)))), f[2]!, f[3]!), alg!.raw, sig!.raw),
      seq(seq(f[0]!, f[1]!, f[2]!, tlv(0xa0, seq(oid('1.2.3'), octetString(Uint8Array.of(1))))), alg!.raw, sig!.raw),
      seq(info!.raw, seq(oid('1.2.840.10045.4.3.2'), nullValue()), sig!.raw),
    ]) {
      assert.throws(() => parseCSR(bad), { code: 'ERR_CSR_PARSE' });
    }
  });
});
