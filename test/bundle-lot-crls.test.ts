/**
 * What a bundle carries from store to store, with the built CLI: the lot and model as a signed birth claim (so lot selections
 * work in the importer's store), current CRLs of the exporter's CAs (so a policy that asks for revocation
 * evidence finds them, and names the issuers whose CRLs are still missing), and a warning when the exporting
 * store has no log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON, type CLIRun } from './e2e-helpers.js';

const PASS = 'lot and crls test passphrase';

describe('bundles carry lot, model and CRLs (CLI end to end)', function () {
  this.timeout(180_000);
  let tmp: string;
  let acme: string;
  let northwind: string;
  let firstExport: CLIRun;
  const cli = (args: string[], env: Record<string, string | undefined> = { CUSTODY_PASSPHRASE: PASS }): CLIRun => custodyJSON(args, { env, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const bundleJSON = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-lot-crls-e2e-'));
    acme = join(tmp, 'acme');
    northwind = join(tmp, 'northwind');
    ok('init', '--store', acme);
    ok('ca', 'create', '--store', acme, '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', '--store', acme, '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', '--store', acme, '--name', 'factory', '--ca', 'acme-root', '--organization', 'Acme');
    ok('ca', 'export', 'acme-root', '--store', acme, '--out', join(tmp, 'acme-root.pem'));
    ok('init', '--store', northwind);
    ok('ca', 'create', '--store', northwind, '--name', 'nw-root', '--organization', 'Northwind');
    ok('parties', 'create', '--store', northwind, '--name', 'nw', '--ca', 'nw-root', '--organization', 'Northwind');
    ok('parties', 'export', 'nw', '--store', northwind, '--out', join(tmp, 'nw.pem'));
    ok('ca', 'export', 'nw-root', '--store', northwind, '--out', join(tmp, 'nw-root.pem'));
    ok(
      'devices',
      'provision',
      '--store',
      acme,
      '--ca',
      'acme-issuing',
      '--generate',
      '2',
      '--serial-pattern',
      'T{seq:3}',
      '--model',
      'Sensor X1',
      '--lot',
      'L7',
      '--to',
      join(tmp, 'nw.pem'),
      '--out',
      join(tmp, 'issued'),
    );
    firstExport = cli(['devices', 'export', '--store', acme, '--lot', 'L7', '--out', join(tmp, 'bundles') + '/']);
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('exports from a store without a log, with a warning on stderr', function () {
    assert.equal(firstExport.status, 0, firstExport.stderr);
    assert.match(firstExport.stderr, /^custody: warning: .*no transparency log \(custody log init\)/m);
    assert.deepEqual(readdirSync(join(tmp, 'bundles')).sort(), ['T001.json', 'T002.json']);
  });

  it("signs the lot and model into the birth claims (no unsigned label), and writes a CRL of each CA of the store on the bundle's paths", function () {
    const b = bundleJSON(join(tmp, 'bundles', 'T001.json'));
    assert.equal(b.labels, undefined);
    assert.deepEqual(b.attestations[0].statement.predicate.claims.production, { lot: 'L7', model: 'Sensor X1' });
    // acme-issuing (the IDevID's issuer) and acme-root (the issuing CA's and the factory party's).
    assert.equal(b.crls.length, 2);
  });

  it('leaves a CRL out, with a warning, when no passphrase opens the CA keys', function () {
    const r = cli(['devices', 'export', '--store', acme, '--serial', 'T001', '--out', join(tmp, 'no-pass.json')], { CUSTODY_PASSPHRASE: undefined });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: the bundles carry no CRL of CA "acme-issuing"/);
    assert.equal(bundleJSON(join(tmp, 'no-pass.json')).crls, undefined);
  });

  it('lets the importing store select the lot it learnt from the bundles (handoff --lot, export --lot)', function () {
    ok('devices', 'import', join(tmp, 'bundles'), '--store', northwind, '--trust', join(tmp, 'acme-root.pem'));
    ok('devices', 'handoff', '--store', northwind, '--lot', 'L7', '--to', 'nw');
    ok('devices', 'export', '--store', northwind, '--lot', 'L7', '--out', join(tmp, 'from-nw') + '/');
    assert.deepEqual(readdirSync(join(tmp, 'from-nw')).sort(), ['T001.json', 'T002.json']);
    const b = bundleJSON(join(tmp, 'from-nw', 'T002.json'));
    assert.deepEqual(b.attestations[0].statement.predicate.claims.production, { lot: 'L7', model: 'Sensor X1' });
    assert.equal(b.crls.length, 1, 'the CRL of nw-root, the CA northwind runs');
    const shown = ok('devices', 'show', 'T001', '--store', northwind);
    assert.match(shown.stdout, /model Sensor X1 {2}lot L7/);
  });

  it('rejects for missing revocation evidence naming the issuers whose CRLs are missing, not the one carried', function () {
    const r = cli([
      'devices',
      'verify',
      '--bundle',
      join(tmp, 'from-nw', 'T001.json'),
      '--trust',
      join(tmp, 'acme-root.pem'),
      '--trust',
      join(tmp, 'nw-root.pem'),
      '--policy',
      'healthcare',
    ]);
    assert.equal(r.status, 1, r.stderr + r.stdout);
    const line = r.stdout.split('\n').find((l) => l.includes('revocationCheck')) ?? '';
    assert.match(line, /ERR_POLICY_REVOCATION/);
    assert.match(line, /no verified current CRL from "O=Acme, CN=acme-issuing"/);
    assert.match(line, /no verified current CRL from "O=Acme, CN=acme-root"/);
    assert.doesNotMatch(line, /from "O=Northwind, CN=nw-root"/);
  });
});
