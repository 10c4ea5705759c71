/**
 * Small conventions of issue 21, with the built CLI: a device's CN comes from --model, else from its CSR, else is
 * its serial (never a template's name); a P-384 CSR signed with SHA-256 (openssl's default) is accepted; `certs
 * inspect` reads certificates, CSRs, CRLs and bundles, and refuses anything else with one line and exit 3.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON, openssl, type CLIRun } from './e2e-helpers.js';

const PASS = 'conventions test passphrase';

describe('CLI conventions: device CN, CSR hashes, certs inspect (end to end)', function () {
  this.timeout(180_000);
  let tmp: string;
  let store: string;
  const cli = (...args: string[]): CLIRun => custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(...args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const subjectOf = (pem: string) => openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], readFileSync(pem, 'utf8')).trim();

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-conventions-e2e-'));
    store = join(tmp, 'store');
    ok('init', '--store', store);
    ok('ca', 'create', '--store', store, '--name', 'root', '--organization', 'Acme');
    ok('ca', 'create', '--store', store, '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme');
    ok('parties', 'create', '--store', store, '--name', 'factory', '--ca', 'root', '--organization', 'Acme');
    mkdirSync(join(tmp, 'req'));
    // openssl signs a P-384 request with SHA-256 unless told otherwise.
    openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-384',
      '-nodes',
      '-subj',
      '/CN=Probe P3/serialNumber=P1',
      '-keyout',
      join(tmp, 'p1.key'),
      '-out',
      join(tmp, 'req', 'p1.csr'),
    ]);
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('accepts a P-384 CSR signed with SHA-256, and takes the CN from the CSR without --model (regressions of issue 21)', function () {
    assert.match(openssl(['req', '-in', join(tmp, 'req', 'p1.csr'), '-noout', '-text']), /ecdsa-with-SHA256/);
    ok('devices', 'provision', '--store', store, '--ca', 'issuing', '--csr', join(tmp, 'req'), '--out', join(tmp, 'out1'));
    assert.equal(subjectOf(join(tmp, 'out1', 'P1.pem')), 'subject=serialNumber=P1,CN=Probe P3,O=Acme');
  });

  it('names a generated device by its serial without --model, never by the template (CN=idevid)', function () {
    ok('devices', 'provision', '--store', store, '--ca', 'issuing', '--generate', '1', '--serial-pattern', 'G{seq:3}', '--out', join(tmp, 'out2'));
    const subject = subjectOf(join(tmp, 'out2', 'G001.pem'));
    assert.equal(subject, 'subject=serialNumber=G001,CN=G001,O=Acme');
  });

  it('puts --model in the CN when given', function () {
    ok(
      'devices',
      'provision',
      '--store',
      store,
      '--ca',
      'issuing',
      '--generate',
      '1',
      '--serial-pattern',
      'M{seq:3}',
      '--model',
      'Sensor X1',
      '--out',
      join(tmp, 'out3'),
    );
    assert.equal(subjectOf(join(tmp, 'out3', 'M001.pem')), 'subject=serialNumber=M001,CN=Sensor X1,O=Acme');
  });

  it('certs inspect reads a CSR, naming its algorithm and whether its signature verifies', function () {
    const r = ok('certs', 'inspect', join(tmp, 'req', 'p1.csr'), '--json');
    const d = r.json.data;
    assert.equal(d.kind, 'csr');
    assert.equal(d.csr.key, 'EC P-384');
    assert.equal(d.csr.signatureAlgorithm, 'ecdsa-with-SHA256 (1.2.840.10045.4.3.2)');
    assert.equal(d.csr.signatureVerifies, true);
  });

  it('certs inspect reads a CRL and a bundle (its lot and model from the signed birth claim)', function () {
    ok('ca', 'crl', '--store', store, '--ca', 'issuing', '--out', join(tmp, 'issuing.crl'), '--pem');
    const crl = ok('certs', 'inspect', join(tmp, 'issuing.crl'));
    assert.match(crl.stdout, /^CRL of: +O=Acme, CN=issuing$/m);
    assert.match(crl.stdout, /^CRL number: +\d+$/m);
    ok('devices', 'export', '--store', store, '--serial', 'M001', '--out', join(tmp, 'M001.json'));
    const b = ok('certs', 'inspect', join(tmp, 'M001.json'));
    assert.match(b.stdout, /^Bundle of: +O=Acme, CN=Sensor X1, serialNumber=M001$/m);
    assert.match(b.stdout, /^Model: +Sensor X1 \(birth claim\)$/m);
    const cert = ok('certs', 'inspect', join(tmp, 'out3', 'M001.pem'));
    assert.match(cert.stdout, /^Subject: +O=Acme, CN=Sensor X1, serialNumber=M001$/m);
  });

  it('certs inspect refuses a file that is none of them: one line naming it, ERR_INSPECT_FORMAT, exit 3', function () {
    const file = join(tmp, 'key.pem');
    writeFileSync(file, readFileSync(join(tmp, 'p1.key')));
    const r = cli('certs', 'inspect', file);
    assert.equal(r.status, 3);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, new RegExp(`^custody: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*\\[ERR_INSPECT_FORMAT\\]$`, 'm'));
  });
});
