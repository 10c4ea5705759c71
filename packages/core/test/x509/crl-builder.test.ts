import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OID } from '../../src/asn1/oids.js';
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { readCertificateInfo, type CertificateInfo } from '../../src/x509/certificate-info.js';
import { createCRL, isCRLReason, normalizeSerialHex, type CRLOptions } from '../../src/x509/crl-builder.js';
import { encodePEM } from '../../src/x509/pem.js';
import { parseCRL } from '../../src/validation/crl.js';
import { PathValidator } from '../../src/validation/path-validator.js';
import { toHex } from '../../src/util/bytes.js';
import { loadTemplate, makeCA, makeRoot, NOW, provider, type TestCA } from './fixtures.js';

const THIS_UPDATE = new Date('2026-11-25T00:00:00Z');
const NEXT_UPDATE = new Date('2026-12-02T00:00:00Z');
const AT = new Date('2026-11-26T00:00:00Z');

function openssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('createCRL', () => {
  let root: TestCA;
  let issuing: TestCA;
  let revoked: CertificateInfo;
  let kept: CertificateInfo;
  const dir = mkdtempSync(join(tmpdir(), 'custody-crl-'));

  const options = (over: Partial<CRLOptions> = {}): CRLOptions => ({
    issuer: issuing.info,
    key: issuing.keys.privateKey,
    provider,
    thisUpdate: THIS_UPDATE,
    nextUpdate: NEXT_UPDATE,
    crlNumber: 7,
    revoked: [
      { serialHex: revoked.serialHex, revokedAt: new Date('2026-11-24T18:30:00Z'), reason: 'keyCompromise' },
      { serialHex: '0badc0de', revokedAt: new Date('2026-11-24T19:00:00Z'), reason: 'superseded' },
      { serialHex: '7f:01', revokedAt: new Date('2026-11-24T19:30:00Z'), reason: 'unspecified' },
    ],
    ...over,
  });

  before(async () => {
    root = await makeRoot();
    issuing = await makeCA('issuing-ca', root, 'Acme Issuing CA 1');
    const f = await CertificateFactory.create({
      template: loadTemplate('idevid'),
      issuer: { certificate: issuing.info, key: issuing.keys.privateKey },
      provider,
      notBefore: NOW,
      vars: { organization: 'Acme Devices', model: 'Sensor X1' },
    });
    revoked = readCertificateInfo((await f.issue({ spki: (await provider.generateKeyPair('P-256')).publicKey.spki, vars: { serial: 'SN0000001' } })).der);
    kept = readCertificateInfo((await f.issue({ spki: (await provider.generateKeyPair('P-256')).publicKey.spki, vars: { serial: 'SN0000002' } })).der);
    writeFileSync(join(dir, 'root.pem'), encodePEM(root.info.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'issuing.pem'), encodePEM(issuing.info.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'chain.pem'), encodePEM(root.info.der, 'CERTIFICATE') + encodePEM(issuing.info.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'revoked.pem'), encodePEM(revoked.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'kept.pem'), encodePEM(kept.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'crl.der'), await createCRL(options()));
    writeFileSync(join(dir, 'crl.pem'), encodePEM(await createCRL(options()), 'X509 CRL'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips through parseCRL', async () => {
    const crl = parseCRL(await createCRL(options()));
    assert.equal(crl.version, 2);
    assert.equal(toHex(crl.issuer.der), toHex(issuing.info.subject), 'issuer is the CA subject DER exactly');
    assert.equal(crl.thisUpdate.toISOString(), THIS_UPDATE.toISOString());
    assert.equal(crl.nextUpdate?.toISOString(), NEXT_UPDATE.toISOString());
    assert.equal(crl.signatureAlgorithm.oid, OID.ecdsaWithSHA256);
    assert.deepEqual([...crl.revoked.keys()], [revoked.serialHex, '0badc0de', '7f01']);
    const first = crl.revoked.get(revoked.serialHex)!;
    assert.equal(first.revocationDate.toISOString(), '2026-11-24T18:30:00.000Z');
    const reason = first.extensions.find((e) => e.oid === OID.crlReason)!;
    assert.equal(reason.critical, false);
    assert.equal(toHex(reason.value), '0a0101');
    assert.equal(toHex(crl.revoked.get('0badc0de')!.extensions[0]!.value), '0a0104');
    assert.equal(crl.revoked.get('7f01')!.extensions.length, 0, 'unspecified is written as no reasonCode (RFC 5280 5.3.1)');
    assert.equal(toHex(crl.crlNumber!), '07');
    assert.equal(crl.extensions.find((e) => e.oid === '2.5.29.20')!.critical, false);
    assert.equal(toHex(crl.authorityKeyId!.keyIdentifier!), toHex(issuing.info.subjectKeyId!));
  });

  it('omits revokedCertificates when nothing is revoked, and encodes big CRL numbers', async () => {
    const der = await createCRL(options({ revoked: [], crlNumber: 2n ** 100n }));
    const crl = parseCRL(der);
    assert.equal(crl.revoked.size, 0);
    assert.equal(toHex(crl.crlNumber!), '10' + '00'.repeat(12));
    const text = openssl(['crl', '-inform', 'DER', '-noout', '-text', '-in', writeTo('empty.der', der)]).out;
    assert.match(text, /No Revoked Certificates/);
  });

  it('writes GeneralizedTime from 2050 on', async () => {
    const der = await createCRL(options({ nextUpdate: new Date('2050-01-01T00:00:00Z') }));
    assert.ok(Buffer.from(der).toString('latin1').includes('\x18\x0f20500101000000Z'));
    assert.equal(parseCRL(der).nextUpdate?.toISOString(), '2050-01-01T00:00:00.000Z');
  });

  it('signs with ecdsa-with-SHA384 for a P-384 CA', async () => {
    const keys = await provider.generateKeyPair('P-384');
    const f = await CertificateFactory.create({
      template: loadTemplate('root-ca'),
      issuer: { key: keys.privateKey },
      provider,
      notBefore: NOW,
      vars: { organization: 'Acme Devices', name: 'Acme Root 384' },
    });
    const info = readCertificateInfo((await f.issue({ spki: keys.publicKey.spki, vars: { name: 'Acme Root 384' } })).der);
    const der = await createCRL(options({ issuer: info, key: keys.privateKey }));
    assert.equal(parseCRL(der).signatureAlgorithm.oid, OID.ecdsaWithSHA384);
    writeFileSync(join(dir, 'root384.pem'), encodePEM(info.der, 'CERTIFICATE'));
    const r = openssl(['crl', '-inform', 'DER', '-noout', '-in', writeTo('crl384.der', der), '-verify', '-CAfile', join(dir, 'root384.pem')]);
    assert.match(r.out, /verify OK/);
  });

  it('shows its entries, reasons and CRL number to openssl crl -text', () => {
    const { status, out } = openssl(['crl', '-inform', 'DER', '-noout', '-text', '-in', join(dir, 'crl.der')]);
    assert.equal(status, 0, out);
    assert.match(out, /Certificate Revocation List \(CRL\):\s+Version 2 \(0x1\)/);
    assert.match(out, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(out, /Issuer: O ?= ?Acme Devices, CN ?= ?Acme Issuing CA 1/);
    assert.match(out, /X509v3 CRL Number:\s+7\b/);
    assert.match(out, /X509v3 Authority Key Identifier:/);
    assert.match(
      out,
      new RegExp(
        `Serial Number: ${revoked.serialHex.toUpperCase()}\\s+Revocation Date: Nov 24 18:30:00 2026 GMT\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`,
      ),
    );
    assert.match(out, /Serial Number: 0BADC0DE\s+Revocation Date: Nov 24 19:00:00 2026 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Superseded/);
    assert.match(out, /Serial Number: 7F01\s+Revocation Date: Nov 24 19:30:00 2026 GMT\s+Signature Algorithm/);
  });

  it('passes openssl crl -verify with the issuing CA', () => {
    const r = openssl(['crl', '-in', join(dir, 'crl.pem'), '-noout', '-verify', '-CAfile', join(dir, 'issuing.pem')]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /verify OK/);
    const wrong = openssl(['crl', '-in', join(dir, 'crl.pem'), '-noout', '-verify', '-CAfile', join(dir, 'root.pem')]);
    assert.doesNotMatch(wrong.out, /verify OK/);
  });

  it('makes openssl verify -crl_check refuse the revoked device and accept the other', () => {
    const base = [
      'verify',
      '-x509_strict',
      '-crl_check',
      '-attime',
      String(AT.getTime() / 1000),
      '-CAfile',
      join(dir, 'chain.pem'),
      '-CRLfile',
      join(dir, 'crl.pem'),
    ];
    const bad = openssl([...base, join(dir, 'revoked.pem')]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /certificate revoked/);
    const good = openssl([...base, join(dir, 'kept.pem')]);
    assert.equal(good.status, 0, good.out);
    assert.match(good.out, /kept\.pem: OK/);
  });

  it("is accepted by the project's PathValidator, which refuses the revoked leaf with ERR_CHAIN_REVOKED", async () => {
    const validator = new PathValidator({ trustAnchors: [root.info.der], provider });
    const crls = [await createCRL(options())];
    const bad = await validator.validate({ leaf: revoked.der, intermediates: [issuing.info.der], at: AT, crls, requireCRL: false });
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'ERR_CHAIN_REVOKED');
    const good = await validator.validate({ leaf: kept.der, intermediates: [issuing.info.der], at: AT, crls });
    assert.equal(good.ok, true, JSON.stringify(good.checks.filter((c) => !c.ok)));
    assert.ok(good.checks.some((c) => c.name === 'revocation' && c.ok));
  });

  it('fails closed when the CRL is tampered with (ERR_CHAIN_CRL)', async () => {
    const der = await createCRL(options());
    const i = Buffer.from(der).indexOf(Buffer.from('0badc0de', 'hex'));
    der[i] ^= 0x01;
    const validator = new PathValidator({ trustAnchors: [root.info.der], provider });
    const r = await validator.validate({ leaf: kept.der, intermediates: [issuing.info.der], at: AT, crls: [der] });
    assert.equal(r.code, 'ERR_CHAIN_CRL');
  });

  it('refuses bad input with named codes', async () => {
    await assert.rejects(createCRL(options({ revoked: [{ serialHex: '01', revokedAt: NOW, reason: 'removeFromCRL' }] })), { code: 'ERR_CRL_REASON' });
    await assert.rejects(createCRL(options({ revoked: [{ serialHex: '01', revokedAt: NOW, reason: 'sorry' as 'superseded' }] })), { code: 'ERR_CRL_REASON' });
    await assert.rejects(createCRL(options({ revoked: [{ serialHex: 'xyz', revokedAt: NOW }] })), { code: 'ERR_CRL_SERIAL' });
    await assert.rejects(
      createCRL(
        options({
          revoked: [
            { serialHex: '01', revokedAt: NOW },
            { serialHex: '0001', revokedAt: NOW },
          ],
        }),
      ),
      { code: 'ERR_CRL_DUPLICATE_SERIAL' },
    );
    await assert.rejects(createCRL(options({ nextUpdate: THIS_UPDATE })), { code: 'ERR_CRL_TIME' });
    await assert.rejects(createCRL(options({ crlNumber: -1 })), { code: 'ERR_CRL_NUMBER' });
    await assert.rejects(createCRL(options({ crlNumber: 2n ** 159n })), { code: 'ERR_CRL_NUMBER' });
    await assert.rejects(createCRL(options({ key: root.keys.privateKey })), { code: 'ERR_CRL_ISSUER' });
    await assert.rejects(createCRL(options({ issuer: kept })), { code: 'ERR_CRL_ISSUER' });
    await assert.rejects(createCRL(options({ crlNumber: 1.5 })), TypeError);
  });

  it('knows the RFC 5280 reason names', () => {
    assert.equal(isCRLReason('keyCompromise'), true);
    assert.equal(isCRLReason('cACompromise'), true);
    assert.equal(isCRLReason('toString'), false);
    assert.equal(isCRLReason('KeyCompromise'), false);
  });

  it('normalizes serials to the content-octet hex certificates use', () => {
    assert.equal(normalizeSerialHex('7F:01'), '7f01');
    assert.equal(normalizeSerialHex('00007f01'), '7f01');
    assert.equal(normalizeSerialHex('8a'), '008a');
    assert.equal(normalizeSerialHex('0'), '00');
    assert.equal(normalizeSerialHex(revoked.serialHex.toUpperCase()), revoked.serialHex);
    assert.throws(() => normalizeSerialHex(''), { code: 'ERR_CRL_SERIAL' });
    assert.throws(() => normalizeSerialHex('ab'.repeat(41)), { code: 'ERR_CRL_SERIAL' });
  });

  function writeTo(name: string, der: Uint8Array): string {
    writeFileSync(join(dir, name), der);
    return join(dir, name);
  }
});
