/**
 * A pallet at the dock, with the built CLI: `devices verify --bundle DIR` over worker threads gives, bundle for
 * bundle, the report one thread gives: same verdicts, same checks in the same order, and the same memory of the
 * log (each report's checkpoint settled in file order on the thread that keeps the store).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON, type CLIRun } from './e2e-helpers.js';

const PASS = 'pallet test passphrase';

describe('a pallet verified on worker threads (CLI end to end)', function () {
  this.timeout(300_000);
  let tmp: string;
  let m: string;
  const cli = (args: string[], env: Record<string, string> = {}): CLIRun => custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS, ...env }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-pallet-e2e-'));
    m = join(tmp, 'acme');
    const S = ['--store', m];
    ok('init', ...S);
    ok('ca', 'create', ...S, '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', ...S, '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', ...S, '--name', 'factory', '--ca', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', ...S, '--name', 'integrator', '--ca', 'acme-root', '--organization', 'Acme');
    ok('log', 'init', ...S, '--origin', 'acme.example/log');
    writeFileSync(join(tmp, 'root.pem'), JSON.parse(readFileSync(join(m, 'store.json'), 'utf8')).cas['acme-root'].certificate);
    ok('devices', 'provision', ...S, '--ca', 'acme-issuing', '--generate', '60', '--party', 'factory', '--to', 'integrator', '--out', join(tmp, 'devices'));
    const pallet = join(tmp, 'pallet');
    mkdirSync(pallet);
    const serials = readdirSync(join(tmp, 'devices'))
      .filter((f) => f.endsWith('.pem') && !f.endsWith('.key.pem'))
      .map((f) => f.slice(0, -4))
      .sort();
    // Two exports of the same log: the second half carries a checkpoint of a grown log (no consistency proof).
    ok('devices', 'export', ...S, ...serials.slice(0, 30).flatMap((s) => ['--serial', s]), '--out', pallet + '/');
    ok('devices', 'handoff', ...S, '--serial', serials[59]!, '--party', 'integrator', '--to', 'factory');
    ok('devices', 'export', ...S, ...serials.slice(30).flatMap((s) => ['--serial', s]), '--out', pallet + '/');
    // Some bundles tampered with: a byte of a signature, an attestation dropped, a proof hash changed.
    const edit = (serial: string, f: (j: any) => void) => {
      // eslint-disable-line @typescript-eslint/no-explicit-any
      const file = join(pallet, `${serial}.json`);
      const j = JSON.parse(readFileSync(file, 'utf8'));
      f(j);
      writeFileSync(file, JSON.stringify(j));
    };
    edit(serials[3]!, (j) => (j.attestations[0].signature = j.attestations[0].signature.replace(/^M/, 'N')));
    edit(serials[17]!, (j) => (j.log.proofs[0].hashes[0] = (j.log.proofs[0].hashes[0][0] === 'A' ? 'B' : 'A') + j.log.proofs[0].hashes[0].slice(1)));
    edit(serials[44]!, (j) => (j.certificates = [j.certificates[0]]));
    writeFileSync(join(pallet, 'zz-not-a-bundle.json'), '{"version":1,');
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the reports of one thread, in order, and leaves the same log memory behind', function () {
    const runs = ['0', '2'].map((threads) => {
      const store = join(tmp, `customer-${threads}`);
      ok('init', '--store', store);
      const r = cli(
        ['devices', 'verify', '--store', store, '--bundle', join(tmp, 'pallet'), '--trust', join(tmp, 'root.pem'), '--log-key', join(m, 'log.pub'), '--json'],
        { CUSTODY_THREADS: threads },
      );
      assert.equal(r.status, 3, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/, 'every verifying thread answered');
      return { r, seen: JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')).checkpoints };
    });
    const [one, many] = runs as [(typeof runs)[0], (typeof runs)[0]];
    assert.deepEqual(many.r.json, one.r.json);
    assert.deepEqual(many.seen, one.seen);
    const results = one.r.json.data.results as Array<{ file: string; ok: boolean; code?: string }>;
    assert.equal(results.length, 61);
    assert.deepEqual(
      results.map((x) => x.file),
      [...results.map((x) => x.file)].sort(),
      'in file order',
    );
    const codes = new Map(results.filter((x) => !x.ok).map((x) => [x.file.replace(/^.*\//, ''), x.code]));
    assert.equal(codes.get('zz-not-a-bundle.json'), 'ERR_BUNDLE_MALFORMED');
    // The first 30 were exported with one checkpoint, the other 30 with a grown log's: unproven, they are rejected.
    assert.equal(results.filter((x) => x.code === 'ERR_VERIFY_LOG_CONSISTENCY').length, 30 - 1);
    assert.equal(results.filter((x) => x.ok).length, 30 - 2);
  });
});
