import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import * as asn1js from 'asn1js';
import { CertificateFactory } from '../../src/x509/certificate-factory.js';
import { readCertificateInfo } from '../../src/x509/certificate-info.js';
import { encodePEM } from '../../src/x509/pem.js';
import { loadTemplate, makeCA, makeRoot, NOW, provider, type TestCA } from './fixtures.js';

const pem = (der: Uint8Array) => encodePEM(der, 'CERTIFICATE');

describe('CertificateFactory', () => {
  let root: TestCA;
  let issuing: TestCA;
  let device: Uint8Array;
  const dir = mkdtempSync(join(tmpdir(), 'custody-x509-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** An IDevID factory under the issuing CA. */
  const deviceFactory = (model: string) =>
    CertificateFactory.create({
      template: loadTemplate('idevid'),
      issuer: { certificate: issuing.info, key: issuing.keys.privateKey },
      provider,
      notBefore: NOW,
      vars: { organization: 'Acme Devices', model },
    });

  before(async () => {
    root = await makeRoot();
    issuing = await makeCA('issuing-ca', root, 'Acme Issuing CA 1');
    const keys = await provider.generateKeyPair('P-256');
    const f = await deviceFactory('Sensor X1');
    device = (await f.issue({ spki: keys.publicKey.spki, vars: { serial: 'SN0000042' } })).der;
    writeFileSync(join(dir, 'root.pem'), pem(root.info.der));
    writeFileSync(join(dir, 'issuing.pem'), pem(issuing.info.der));
    writeFileSync(join(dir, 'device.pem'), pem(device));
  });

  it('issues a chain that openssl verify -x509_strict accepts', () => {
    const out = execFileSync(
      'openssl',
      [
        'verify',
        '-x509_strict',
        '-attime',
        String(NOW.getTime() / 1000 + 86_400),
        '-CAfile',
        join(dir, 'root.pem'),
        '-untrusted',
        join(dir, 'issuing.pem'),
        join(dir, 'device.pem'),
      ],
      { encoding: 'utf8' },
    );
    assert.match(out, /device\.pem: OK/);
  });

  it('gives the IDevID the 802.1AR profile', () => {
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'device.pem')], { encoding: 'utf8' });
    assert.match(text, /serialNumber\s*=\s*SN0000042/);
    assert.match(text, /Not After : Dec 31 23:59:59 9999 GMT/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\s/);
    assert.match(text, /X509v3 Authority Key Identifier/);
    assert.match(text, /othername:\s*(HardwareModuleName|1\.3\.6\.1\.5\.5\.7\.8\.4)/i);
    const info = readCertificateInfo(device);
    assert.equal(info.notAfter.toISOString(), '9999-12-31T23:59:59.000Z');
    // GeneralizedTime, no fractional seconds
    const s = Buffer.from(device).toString('latin1');
    assert.ok(s.includes('\x18\x0f99991231235959Z'));
  });

  it('gives the issuing CA critical CA:TRUE, pathlen:0 and certSign + CRL sign', () => {
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', join(dir, 'issuing.pem')], { encoding: 'utf8' });
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
  });

  it('puts each subject attribute in its own RDN', () => {
    const cert = pkijs.Certificate.fromBER(device);
    assert.equal(cert.subject.typesAndValues.length, 3);
    const schemaSeq = cert.subject.toSchema() as asn1js.Sequence;
    assert.equal(schemaSeq.valueBlock.value.length, 3, 'three RDNs');
  });

  it('round-trips through pkijs byte for byte', () => {
    const cert = pkijs.Certificate.fromBER(device);
    assert.deepEqual(new Uint8Array(cert.toSchema(true).toBER()), device);
  });

  it('uses unique positive serials of at least 64 random bits', async () => {
    const f = await deviceFactory('M');
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = f.nextSerial();
      assert.ok(s[0]! >= 1 && s[0]! <= 0x7f);
      seen.add(Buffer.from(s).toString('hex'));
    }
    assert.equal(seen.size, 2000);
  });

  it('issues under a serial taken beforehand (an LDevID is recorded under its serial before it is issued)', async () => {
    const f = await deviceFactory('M');
    const serial = f.nextSerial();
    const keys = await provider.generateKeyPair('P-256');
    const cert = await f.issue({ spki: keys.publicKey.spki, vars: { serial: 'SN1' }, serial });
    assert.equal(cert.serialHex, Buffer.from(serial).toString('hex'));
    assert.equal(readCertificateInfo(cert.der).serialHex, cert.serialHex);
  });

  it('refuses a root template under an issuer and a device template without one', async () => {
    await assert.rejects(
      CertificateFactory.create({
        template: loadTemplate('root-ca'),
        issuer: { certificate: issuing.info, key: issuing.keys.privateKey },
        provider,
        notBefore: NOW,
      }),
      { code: 'ERR_TEMPLATE_ISSUER' },
    );
    await assert.rejects(CertificateFactory.create({ template: loadTemplate('idevid'), issuer: { key: issuing.keys.privateKey }, provider, notBefore: NOW }), {
      code: 'ERR_TEMPLATE_ISSUER',
    });
  });
});
