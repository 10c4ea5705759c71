/**
 * `ca export` and `parties export`, with the built CLI: the certificates an organisation hands to the next one,
 * taken from the store (no file of the store holds them on PostgreSQL), as PEM on standard output, in a file, or
 * in the --json envelope; `--chain` adds the CAs above, which openssl accepts as the path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON, openssl, snapshot, type CLIRun } from './e2e-helpers.js';

const PASS = 'exports test passphrase';

describe('ca export and parties export (CLI end to end)', function () {
  this.timeout(120_000);
  let tmp: string;
  let store: string;
  let doc: { cas: Record<string, { certificate: string }>; parties: Record<string, { certificate: string }> };
  const cli = (...args: string[]): CLIRun => custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(...args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const pems = (text: string) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [];

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-exports-e2e-'));
    store = join(tmp, 'acme');
    ok('init', '--store', store);
    ok('ca', 'create', '--store', store, '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', '--store', store, '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', '--store', store, '--name', 'factory', '--ca', 'acme-issuing', '--organization', 'Acme');
    doc = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8'));
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('prints a CA certificate as PEM, exactly as the store holds it', function () {
    const r = cli('ca', 'export', 'acme-root', '--store', store);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, doc.cas['acme-root']!.certificate);
    assert.match(openssl(['x509', '-noout', '-subject'], r.stdout), /CN ?= ?acme-root/);
  });

  it('writes --chain to a file: the CA, then its issuers up to the root, which openssl verifies', function () {
    const file = join(tmp, 'issuing-chain.pem');
    ok('ca', 'export', 'acme-issuing', '--chain', '--out', file, '--store', store);
    const [issuing, root] = pems(readFileSync(file, 'utf8'));
    assert.equal(issuing, doc.cas['acme-issuing']!.certificate);
    assert.equal(root, doc.cas['acme-root']!.certificate);
    writeFileSync(join(tmp, 'root.pem'), root!);
    writeFileSync(join(tmp, 'issuing.pem'), issuing!);
    assert.match(openssl(['verify', '-x509_strict', '-CAfile', join(tmp, 'root.pem'), join(tmp, 'issuing.pem')]), /OK/);
  });

  it('exports a party with its chain, in the --json envelope as PEM fields', function () {
    const r = ok('parties', 'export', 'factory', '--chain', '--store', store, '--json');
    assert.equal(r.json.data.name, 'factory');
    assert.equal(r.json.data.certificatePem, doc.parties.factory!.certificate);
    assert.deepEqual(r.json.data.chainPem, [doc.cas['acme-issuing']!.certificate, doc.cas['acme-root']!.certificate]);
    writeFileSync(join(tmp, 'factory.pem'), r.json.data.certificatePem);
    writeFileSync(join(tmp, 'untrusted.pem'), r.json.data.chainPem[0]);
    assert.match(
      openssl([
        'verify',
        '-x509_strict',
        '-purpose',
        'any',
        '-CAfile',
        join(tmp, 'root.pem'),
        '-untrusted',
        join(tmp, 'untrusted.pem'),
        join(tmp, 'factory.pem'),
      ]),
      /OK/,
    );
  });

  it('ca list and parties list give subject, key id, validity and fingerprint, which openssl agrees with', function () {
    const cas = ok('ca', 'list', '--store', store, '--json').json.data.cas as Array<{
      name: string;
      subject: string;
      keyId: string;
      notAfter: string;
      sha256: string;
      issuer?: string;
    }>;
    const root = cas.find((c) => c.name === 'acme-root')!;
    const fp = openssl(['x509', '-noout', '-fingerprint', '-sha256'], doc.cas['acme-root']!.certificate).split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
    assert.equal(root.sha256, fp);
    const ski = openssl(['x509', '-noout', '-ext', 'subjectKeyIdentifier'], doc.cas['acme-root']!.certificate)
      .split('\n')[1]!
      .trim()
      .replace(/:/g, '')
      .toLowerCase();
    assert.equal(root.keyId, ski);
    assert.match(root.subject, /acme-root/);
    assert.match(root.notAfter, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.equal(cas.find((c) => c.name === 'acme-issuing')!.issuer, 'acme-root');
    const parties = ok('parties', 'list', '--store', store, '--json').json.data.parties as Array<{
      name: string;
      own: boolean;
      subject: string;
      sha256: string;
    }>;
    assert.deepEqual(
      parties.map((p) => [p.name, p.own]),
      [['factory', true]],
    );
    assert.match(parties[0]!.subject, /factory/);
    assert.match(ok('ca', 'list', '--store', store).stdout, /SHA-256 [0-9a-f]{64}/);
  });

  it('refuses an unknown name (exit 2) and an existing --out without --force (exit 5), writing nothing', function () {
    const unknown = cli('ca', 'export', 'nope', '--store', store, '--json');
    assert.equal(unknown.status, 2);
    assert.equal(unknown.json.error.code, 'ERR_USAGE_UNKNOWN_CA');
    assert.equal(cli('parties', 'export', 'nope', '--store', store, '--json').json.error.code, 'ERR_USAGE_PARTY');
    const file = join(tmp, 'exists.pem');
    writeFileSync(file, 'keep me\n');
    const before = snapshot(tmp);
    const r = cli('ca', 'export', 'acme-root', '--out', file, '--store', store, '--json');
    assert.equal(r.status, 5);
    assert.equal(r.json.error.code, 'ERR_IO_EXISTS');
    assert.deepEqual(snapshot(tmp), before);
    ok('ca', 'export', 'acme-root', '--out', file, '--force', '--store', store);
    assert.equal(readFileSync(file, 'utf8'), doc.cas['acme-root']!.certificate);
  });
});
