import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OID } from '../../src/asn1/oids.js';
import { toBase64 } from '../../src/util/bytes.js';
import { parseCertificate, isSelfSigned } from '../../src/validation/certificate.js';
import { parseCRL } from '../../src/validation/crl.js';
import { parseName, namesEqual } from '../../src/validation/name.js';
import { parsePEM } from '../../src/x509/pem.js';
import { cnName, deviceChain, ext, fixedKey, issueCert, issueCRL, keyId } from './fixtures.js';
import { seq, setOf, oid, printableString, utf8String } from '../../src/asn1/der.js';

function pem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const lines = toBase64(der)
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

describe('parseCertificate', () => {
  it('decodes the fields path validation needs', () => {
    const { issuing, leaf } = deviceChain({ dnsNames: ['device-0042.devices.example'], eku: [OID.clientAuth] });
    const c = parseCertificate(leaf);
    assert.equal(c.version, 3);
    assert.equal(c.serialHex, '2a');
    assert.equal(c.subject.text, 'CN=device-0042');
    assert.equal(c.issuer.text, 'CN=Custody Test Issuing CA');
    assert.equal(c.notAfter.toISOString(), '9999-12-31T23:59:59.000Z');
    assert.equal(c.signatureAlgorithm.oid, OID.ecdsaWithSHA256);
    assert.deepEqual([...c.keyUsage!], ['digitalSignature']);
    assert.deepEqual(c.extKeyUsage, [OID.clientAuth]);
    assert.deepEqual(c.subjectKeyId, keyId(fixedKey(2)));
    assert.deepEqual(c.authorityKeyId!.keyIdentifier, keyId(fixedKey(1)));
    assert.deepEqual(c.subjectAltName, [{ kind: 'dNSName', value: 'device-0042.devices.example', raw: c.subjectAltName![0]!.raw }]);
    assert.equal(c.basicConstraints, undefined);
    const ca = parseCertificate(issuing);
    assert.deepEqual(ca.basicConstraints, { cA: true, pathLen: 0 });
    assert.equal(ca.extensions.find((e) => e.oid === OID.basicConstraints)!.critical, true);
    assert.equal(isSelfSigned(ca), false);
  });

  it('agrees with openssl on a fixture chain (openssl verify -x509_strict)', () => {
    const { root, issuing, leaf } = deviceChain();
    const dir = mkdtempSync(join(tmpdir(), 'custody-validation-'));
    try {
      writeFileSync(join(dir, 'root.pem'), pem(root));
      writeFileSync(join(dir, 'issuing.pem'), pem(issuing));
      writeFileSync(join(dir, 'leaf.pem'), pem(leaf));
      const out = execFileSync('openssl', [
        'verify',
        '-x509_strict',
        '-attime',
        '1735689600',
        '-CAfile',
        join(dir, 'root.pem'),
        '-untrusted',
        join(dir, 'issuing.pem'),
        join(dir, 'leaf.pem'),
      ]);
      assert.match(out.toString(), /OK/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses malformed input with ERR_CERT_PARSE', () => {
    const { leaf } = deviceChain();
    const cases: Uint8Array[] = [
      leaf.subarray(0, leaf.length - 1),
      new Uint8Array([...leaf, 0]),
      new Uint8Array(0),
      issueCert({ subject: 'dup', key: fixedKey(2), extraExtensions: [ext(OID.subjectKeyIdentifier, false, Uint8Array.of(4, 1, 1))] }),
      issueCert({ subject: 'bad-ku', key: fixedKey(2), keyUsage: [] }),
    ];
    for (const der of cases) assert.throws(() => parseCertificate(der), { code: 'ERR_CERT_PARSE' });
  });
});

describe('names', () => {
  it('compare PrintableString and UTF8String case-insensitively with folded spaces (RFC 5280 7.1)', () => {
    const a = parseName(seq(setOf(seq(oid(OID.commonName), printableString('Acme  Issuing CA')))));
    const b = parseName(seq(setOf(seq(oid(OID.commonName), utf8String(' acme issuing ca')))));
    const c = parseName(cnName('Acme Root'));
    assert.equal(namesEqual(a, b), true);
    assert.equal(namesEqual(a, c), false);
  });
});

describe('parseCRL', () => {
  it('decodes issuer, times, revoked serials and CRLNumber', () => {
    const crl = parseCRL(issueCRL({ issuer: 'Custody Test Issuing CA', key: fixedKey(1), revokedSerials: [42, 300], crlNumber: 7 }));
    assert.equal(crl.version, 2);
    assert.equal(crl.issuer.text, 'CN=Custody Test Issuing CA');
    assert.deepEqual([...crl.revoked.keys()], ['2a', '012c']);
    assert.deepEqual(crl.crlNumber, Uint8Array.of(7));
    assert.equal(crl.thisUpdate.toISOString(), '2024-06-01T00:00:00.000Z');
  });

  it('refuses malformed input with ERR_CRL_PARSE', () => {
    const der = issueCRL({ issuer: 'X', key: fixedKey(1) });
    assert.throws(() => parseCRL(der.subarray(0, 20)), { code: 'ERR_CRL_PARSE' });
    assert.throws(() => parseCRL(new Uint8Array([...der, 0])), { code: 'ERR_CRL_PARSE' });
  });
});

describe('parsePEM', () => {
  it('returns the blocks with the asked label, in order', () => {
    const { root, issuing } = deviceChain();
    const crl = issueCRL({ issuer: 'X', key: fixedKey(1) });
    const text = `intro text\n${pem(root)}${pem(crl, 'X509 CRL')}${pem(issuing)}`;
    assert.deepEqual(parsePEM(text, 'CERTIFICATE'), [root, issuing]);
    assert.deepEqual(parsePEM(text.replace(/\n/g, '\r\n'), 'X509 CRL'), [crl]);
    assert.deepEqual(parsePEM('nothing here', 'CERTIFICATE'), []);
  });

  it('refuses bad base64, stray characters and mismatched labels with ERR_PEM', () => {
    const good = pem(deviceChain().root);
    assert.throws(() => parsePEM(good.replace('MII', 'M*I'), 'CERTIFICATE'), { code: 'ERR_PEM' });
    // One character short: the base64 length is never a multiple of 4.
    assert.throws(() => parsePEM(good.replace('MII', 'MI'), 'CERTIFICATE'), { code: 'ERR_PEM' });
    // Stray bits under the padding: 'AAF=' decodes, but 'AAE=' is the canonical form of those two bytes.
    assert.throws(() => parsePEM('-----BEGIN CERTIFICATE-----\nAAF=\n-----END CERTIFICATE-----\n', 'CERTIFICATE'), { code: 'ERR_PEM' });
    assert.deepEqual(parsePEM('-----BEGIN CERTIFICATE-----\nAAE=\n-----END CERTIFICATE-----\n', 'CERTIFICATE'), [Uint8Array.of(0, 1)]);
    assert.throws(() => parsePEM(good.replace('END CERTIFICATE', 'END X509 CRL'), 'CERTIFICATE'), { code: 'ERR_PEM' });
    assert.throws(() => parsePEM('-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n', 'CERTIFICATE'), { code: 'ERR_PEM' });
    assert.throws(() => parsePEM(good.replace(/\n(?=[^\n]*\n-----END)/, '\n\n'), 'CERTIFICATE'), { code: 'ERR_PEM' });
  });
});
