/**
 * End to end, with the built CLI: an attestation by a party revoked later stays valid when the log proves it
 * was logged before the revocation. A reseller hands device SN000001 on, a checkpoint is signed, the reseller's
 * certificate is revoked, then it hands SN000002 on. `devices verify --log-key` accepts SN000001's bundle (it
 * carries the earlier checkpoint and a consistency proof) and rejects SN000002's, and SN000001's without the
 * earlier checkpoint or without --log-key, with ERR_CHAIN_REVOKED.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custody } from './e2e-helpers.js';

const PASSPHRASE = 'revocation log e2e passphrase';

interface Check {
  name: string;
  ok: boolean;
  code?: string;
  reason?: string;
}

describe('revoked signer, logged before the revocation (end to end)', function () {
  this.timeout(180_000);
  let dir: string;
  let store: string;
  let verifierStore: string;
  const run = (args: string[]) => custody(args, { env: { CUSTODY_PASSPHRASE: PASSPHRASE }, cwd: dir });
  const ok = (args: string[]) => {
    const r = run(args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const S = () => ['--store', store];
  const verify = (bundle: string, ...extra: string[]) => {
    const r = run([
      'devices',
      'verify',
      '--store',
      verifierStore,
      '--bundle',
      bundle,
      '--trust',
      join(dir, 'root.pem'),
      '--crl',
      join(dir, 'issuing.crl.pem'),
      '--json',
      ...extra,
    ]);
    const json = JSON.parse(r.stdout).data as { accepted: boolean; results: Array<{ code?: string; checks: Check[] }> };
    return { status: r.status, accepted: json.accepted, code: json.results[0]!.code, checks: json.results[0]!.checks, out: r.stdout + r.stderr };
  };
  const bundleJSON = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
  const logKey = () => join(store, 'log.pub');

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'custody-revocation-log-'));
    store = join(dir, 'acme');
    verifierStore = join(dir, 'customer');
    ok(['init', ...S()]);
    ok(['init', '--store', verifierStore]);
    ok(['ca', 'create', ...S(), '--name', 'root', '--organization', 'Acme Devices']);
    ok(['ca', 'create', ...S(), '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme Devices']);
    for (const name of ['factory', 'reseller']) ok(['parties', 'create', ...S(), '--name', name, '--ca', 'issuing', '--organization', 'Acme Devices']);
    ok(['log', 'init', ...S(), '--origin', 'acme.example/log']);
    ok(['devices', 'provision', ...S(), '--ca', 'issuing', '--party', 'factory', '--to', 'reseller', '--generate', '3', '--out', join(dir, 'devices')]);
    const doc = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')) as { cas: Record<string, { certificate: string }> };
    writeFileSync(join(dir, 'root.pem'), doc.cas.root!.certificate);

    // Before the revocation: the reseller hands SN000001 on, and the log signs a checkpoint holding it.
    ok(['devices', 'handoff', ...S(), '--serial', 'SN000001', '--party', 'reseller', '--to', 'factory']);
    const cp = ok(['log', 'checkpoint', ...S(), '--json']);
    assert.match(JSON.parse(cp.stdout).data.checkpoint, /^acme\.example\/log\n4\n[A-Za-z0-9+/=]+\ntimestamp \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\n/);
    // Checkpoint times and revocation dates are whole seconds: the revocation must fall in a later second.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 50));
    ok(['ca', 'revoke', ...S(), '--ca', 'issuing', '--party', 'reseller', '--reason', 'keyCompromise']);
    ok(['ca', 'crl', ...S(), '--ca', 'issuing', '--out', join(dir, 'issuing.crl.pem'), '--pem']);
    // After it: the revoked reseller still signs a handoff.
    ok(['devices', 'handoff', ...S(), '--serial', 'SN000002', '--party', 'reseller', '--to', 'factory']);
    for (const serial of ['SN000001', 'SN000002', 'SN000003']) ok(['devices', 'export', ...S(), '--serial', serial, '--out', join(dir, `${serial}.json`)]);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the checkpoints it signs in the store', () => {
    const lines = readFileSync(join(store, 'checkpoints.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { size: number; note: string });
    assert.deepEqual(
      lines.map((l) => l.size),
      [4, 5],
    );
  });

  it('exports the earlier checkpoint only where a signer is revoked: no extra bytes otherwise', () => {
    const b1 = bundleJSON(join(dir, 'SN000001.json'));
    assert.equal(b1.log.earlier.length, 1);
    assert.match(b1.log.earlier[0].checkpoint, /^acme\.example\/log\n4\n/);
    assert.equal(bundleJSON(join(dir, 'SN000003.json')).log.earlier, undefined);
    assert.equal(readFileSync(join(dir, 'SN000003.json'), 'utf8').includes('earlier'), false);
  });

  it('accepts the handoff signed and logged before the revocation with --log-key', () => {
    const r = verify(join(dir, 'SN000001.json'), '--log-key', logKey());
    assert.equal(r.status, 0, r.out);
    assert.equal(r.accepted, true);
    const signer = r.checks.find((c) => c.name === 'attestation 1: signer revocation')!;
    assert.equal(signer.ok, true);
    assert.match(signer.reason!, /before the revocation/);
    assert.ok(r.checks.some((c) => c.name === 'log earlier checkpoint 0' && c.ok));
  });

  it('rejects it without --log-key: a revoked signer fails closed (ERR_CHAIN_REVOKED)', () => {
    const r = verify(join(dir, 'SN000001.json'));
    assert.equal(r.status, 1);
    assert.equal(r.code, 'ERR_CHAIN_REVOKED');
  });

  it('rejects it without the earlier checkpoint (ERR_CHAIN_REVOKED)', () => {
    const b = bundleJSON(join(dir, 'SN000001.json'));
    delete b.log.earlier;
    writeFileSync(join(dir, 'no-earlier.json'), JSON.stringify(b));
    const r = verify(join(dir, 'no-earlier.json'), '--log-key', logKey());
    assert.equal(r.status, 1);
    assert.equal(r.code, 'ERR_CHAIN_REVOKED');
    assert.match(r.checks.find((c) => c.name === 'attestation 1: signer revocation')!.reason!, /not before the revocation/);
  });

  it('rejects a tampered consistency proof of the earlier checkpoint', () => {
    const b = bundleJSON(join(dir, 'SN000001.json'));
    const h: string = b.log.earlier[0].consistency[0];
    b.log.earlier[0].consistency[0] = (h[0] === 'A' ? 'B' : 'A') + h.slice(1);
    writeFileSync(join(dir, 'tampered.json'), JSON.stringify(b));
    const r = verify(join(dir, 'tampered.json'), '--log-key', logKey());
    assert.equal(r.status, 1);
    assert.equal(r.code, 'ERR_CHAIN_REVOKED');
    assert.equal(r.checks.find((c) => c.name === 'log earlier checkpoint 0')?.code, 'ERR_VERIFY_LOG_CONSISTENCY');
  });

  it('rejects the handoff signed after the revocation, even with --log-key (ERR_CHAIN_REVOKED)', () => {
    const r = verify(join(dir, 'SN000002.json'), '--log-key', logKey());
    assert.equal(r.status, 1);
    assert.equal(r.code, 'ERR_CHAIN_REVOKED');
    assert.match(r.checks.find((c) => c.name === 'attestation 1: signer revocation')!.reason!, /not before the revocation/);
  });

  it('--log-history adds the earliest checkpoint of every attestation', () => {
    ok(['devices', 'export', ...S(), '--serial', 'SN000003', '--log-history', '--out', join(dir, 'SN000003-history.json')]);
    const b = bundleJSON(join(dir, 'SN000003-history.json'));
    assert.equal(b.log.earlier.length, 1);
    assert.match(b.log.earlier[0].checkpoint, /^acme\.example\/log\n4\n/);
    assert.ok(existsSync(join(dir, 'SN000003-history.json')));
    assert.equal(verify(join(dir, 'SN000003-history.json'), '--log-key', logKey()).status, 0);
  });
});
