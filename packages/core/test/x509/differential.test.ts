/**
 * Differential test: everything custody writes (certificates from every shipped template, CSRs, CRLs) reads the
 * same through custody's strict parsers and through pkijs/asn1js, and re-encodes to the same bytes.
 */
import assert from 'node:assert/strict';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseCertificate } from '../../src/validation/certificate.js';
import { parseCRL } from '../../src/validation/crl.js';
import { parseCSR } from '../../src/x509/csr.js';
import { toHex } from '../../src/util/bytes.js';
import type { ParsedName } from '../../src/validation/name.js';
import { attributeText } from '../../src/validation/name.js';
import { writtenByCustody, type Written } from './written.js';

const hex = (b: ArrayBuffer | Uint8Array): string => toHex(b instanceof Uint8Array ? b : new Uint8Array(b));

/** [type, text] of every attribute, as pkijs reads them. */
function pkijsName(n: pkijs.RelativeDistinguishedNames): string[] {
  return n.typesAndValues.map((tv) => `${tv.type}=${(tv.value.valueBlock as unknown as { value: string }).value}`);
}

function ourName(n: ParsedName): string[] {
  return n.rdns.flatMap((rdn) => rdn.map((a) => `${a.type}=${attributeText(a)}`));
}

/** asn1js reads the whole input as one value and writes the same bytes back. */
function asn1Roundtrip(der: Uint8Array): void {
  const r = asn1js.fromBER(der);
  assert.notEqual(r.offset, -1, r.result.error);
  assert.equal(r.offset, der.length);
  assert.equal(hex(r.result.toBER(false)), hex(der));
}

describe('differential: custody parsers against pkijs/asn1js', function () {
  this.timeout(30_000);
  let w: Written;
  before(async () => {
    w = await writtenByCustody();
  });

  it('covers every kind custody writes', () => {
    assert.ok(w.certificates.length >= 5, w.certificates.map(([n]) => n).join(', '));
    assert.ok(w.csrs.length >= 2 && w.crls.length >= 2);
  });

  it('reads every certificate with the same fields and re-encodes it byte for byte', () => {
    for (const [name, der] of w.certificates) {
      const ours = parseCertificate(der);
      const theirs = pkijs.Certificate.fromBER(der);
      assert.equal(ours.serialHex, hex(theirs.serialNumber.valueBlock.valueHexView), name);
      assert.equal(ours.version, theirs.version + 1, name);
      assert.deepEqual(ourName(ours.subject), pkijsName(theirs.subject), name);
      assert.deepEqual(ourName(ours.issuer), pkijsName(theirs.issuer), name);
      assert.equal(ours.notBefore.getTime(), theirs.notBefore.value.getTime(), name);
      assert.equal(ours.notAfter.getTime(), theirs.notAfter.value.getTime(), name);
      assert.equal(ours.signatureAlgorithm.oid, theirs.signatureAlgorithm.algorithmId, name);
      assert.equal(hex(ours.spki), hex(theirs.subjectPublicKeyInfo.toSchema().toBER()), name);
      assert.equal(hex(ours.signature), hex(theirs.signatureValue.valueBlock.valueHexView), name);
      assert.deepEqual(
        ours.extensions.map((e) => [e.oid, e.critical, hex(e.value)]),
        (theirs.extensions ?? []).map((e) => [e.extnID, e.critical, hex(e.extnValue.valueBlock.valueHexView)]),
        name,
      );
      assert.equal(hex(theirs.toSchema(false).toBER()), hex(der), `${name}: pkijs re-encoding`);
      asn1Roundtrip(der);
    }
  });

  it('reads every CSR with the same fields and re-encodes it byte for byte', () => {
    for (const [name, der] of w.csrs) {
      const ours = parseCSR(der);
      const theirs = pkijs.CertificationRequest.fromBER(der);
      assert.deepEqual(
        ours.subject.map(([, v]) => v),
        theirs.subject.typesAndValues.map((tv) => (tv.value.valueBlock as unknown as { value: string }).value),
        name,
      );
      assert.equal(hex(ours.spki), hex(theirs.subjectPublicKeyInfo.toSchema().toBER()), name);
      assert.equal(ours.signatureAlgorithm, theirs.signatureAlgorithm.algorithmId, name);
      assert.equal(hex(ours.info), hex(theirs.tbsView), name);
      // pkijs drops the empty attributes [0] (which RFC 2986 requires and custody writes) whenever it encodes a
      // request, so the byte-for-byte re-encoding here is asn1js's.
      asn1Roundtrip(der);
    }
  });

  it('reads every CRL with the same fields and re-encodes it byte for byte', () => {
    for (const [name, der] of w.crls) {
      const ours = parseCRL(der);
      const theirs = pkijs.CertificateRevocationList.fromBER(der);
      assert.deepEqual(ourName(ours.issuer), pkijsName(theirs.issuer), name);
      assert.equal(ours.thisUpdate.getTime(), theirs.thisUpdate.value.getTime(), name);
      assert.equal(ours.nextUpdate?.getTime(), theirs.nextUpdate?.value.getTime(), name);
      assert.deepEqual(
        [...ours.revoked.values()].map((r) => [r.serialHex, r.revocationDate.getTime()]),
        (theirs.revokedCertificates ?? []).map((r) => [hex(r.userCertificate.valueBlock.valueHexView), r.revocationDate.value.getTime()]),
        name,
      );
      assert.deepEqual(
        ours.extensions.map((e) => [e.oid, e.critical, hex(e.value)]),
        (theirs.crlExtensions?.extensions ?? []).map((e) => [e.extnID, e.critical, hex(e.extnValue.valueBlock.valueHexView)]),
        name,
      );
      assert.equal(hex(theirs.toSchema(false).toBER()), hex(der), `${name}: pkijs re-encoding`);
      asn1Roundtrip(der);
    }
  });
});
