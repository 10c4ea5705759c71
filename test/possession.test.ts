/**
 * Proof of possession end to end, with the built CLI: the customer's store issues a challenge, the device answers
 * it (`agent respond`), `devices verify --response` reads the challenge as often as it likes, `devices activate`
 * spends it together with the activation record, and nothing after that accepts the same response. A device
 * that edits what it was challenged with, or answers another device's challenge, is refused, as is a chain cut
 * short at an earlier holder (`--as`, `--expected-custodian`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON, snapshot, type CLIRun } from './e2e-helpers.js';

const PASS = 'possession test passphrase';

describe('proof of possession and activation (CLI end to end)', function () {
  this.timeout(240_000);
  let tmp: string;
  let acme: string;
  let customer: string;
  let serials: string[];
  const cli = (args: string[]): CLIRun => custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const docCert = (store: string, kind: 'cas' | 'parties', name: string, file: string): string => {
    writeFileSync(file, JSON.parse(readFileSync(join(store, 'store.json'), 'utf8'))[kind][name].certificate);
    return file;
  };
  const trust = () => ['--trust', join(tmp, 'acme-root.pem'), '--trust', join(tmp, 'customer-root.pem')];
  const challenge = (serial: string, name: string) => ok('devices', 'challenge', '--store', customer, '--serial', serial, '--out', join(tmp, name));
  const respond = (serial: string, challengeFile: string, out: string) =>
    ok('agent', 'respond', '--key', join(tmp, 'issued', `${serial}.key.pem`), '--challenge', join(tmp, challengeFile), '--out', join(tmp, out));
  const verify = (serial: string, ...more: string[]) =>
    cli(['devices', 'verify', '--store', customer, '--bundle', join(tmp, 'bundles', `${serial}.json`), ...trust(), '--json', ...more]);
  const activate = (serial: string, ...more: string[]) =>
    cli(['devices', 'activate', '--store', customer, '--serial', serial, '--party', 'receiving', ...trust(), '--json', ...more]);

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-possession-e2e-'));
    acme = join(tmp, 'acme');
    customer = join(tmp, 'customer');
    ok('init', '--store', acme);
    ok('ca', 'create', '--store', acme, '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', '--store', acme, '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', '--store', acme, '--name', 'factory', '--ca', 'acme-root', '--organization', 'Acme');
    ok('init', '--store', customer);
    ok('ca', 'create', '--store', customer, '--name', 'customer-root', '--organization', 'Fabrikam');
    ok('parties', 'create', '--store', customer, '--name', 'receiving', '--ca', 'customer-root', '--organization', 'Fabrikam');
    ok('parties', 'create', '--store', customer, '--name', 'other-desk', '--ca', 'customer-root', '--organization', 'Fabrikam');
    docCert(acme, 'cas', 'acme-root', join(tmp, 'acme-root.pem'));
    docCert(customer, 'cas', 'customer-root', join(tmp, 'customer-root.pem'));
    docCert(customer, 'parties', 'receiving', join(tmp, 'receiving.pem'));
    docCert(customer, 'parties', 'other-desk', join(tmp, 'other-desk.pem'));
    const issued = ok(
      'devices',
      'provision',
      '--store',
      acme,
      '--ca',
      'acme-issuing',
      '--generate',
      '3',
      '--party',
      'factory',
      '--to',
      join(tmp, 'receiving.pem'),
      '--out',
      join(tmp, 'issued'),
      '--json',
    ).json.data;
    serials = (issued.devices ?? issued).map((d: { serial: string }) => d.serial);
    assert.equal(serials.length, 3);
    ok('devices', 'export', '--store', acme, '--serial', serials[0]!, '--serial', serials[1]!, '--serial', serials[2]!, '--out', join(tmp, 'bundles') + '/');
    ok('devices', 'import', '--store', customer, join(tmp, 'bundles'), ...trust());
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('verify --response reads the challenge (twice), activate spends it, and the response is refused afterwards', () => {
    const s = serials[0]!;
    challenge(s, 'c0.json');
    respond(s, 'c0.json', 'r0.json');
    for (let i = 0; i < 2; i++) {
      const r = verify(s, '--response', join(tmp, 'r0.json'));
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(r.json.data.results[0].checks.find((c: { name: string }) => c.name === 'proof of possession').ok, true);
    }
    const a = activate(s, '--response', join(tmp, 'r0.json'));
    assert.equal(a.status, 0, a.stdout + a.stderr);
    assert.equal(a.json.data.accepted, true);
    assert.ok(
      readdirSync(join(customer, 'challenges')).some((f) => f.endsWith('.json.used')),
      'the challenge is spent',
    );
    const again = verify(s, '--response', join(tmp, 'r0.json'));
    assert.equal(again.status, 1);
    assert.equal(again.json.data.results[0].code, 'ERR_VERIFY_POSSESSION_REPLAY');
  });

  it('a second activation with the same response is refused and records nothing', () => {
    const s = serials[1]!;
    challenge(s, 'c1.json');
    respond(s, 'c1.json', 'r1.json');
    assert.equal(activate(s, '--response', join(tmp, 'r1.json')).status, 0);
    const before = snapshot(customer);
    const r = activate(s, '--response', join(tmp, 'r1.json'));
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.deepEqual(snapshot(customer), before);
  });

  it("refuses a response to an edited challenge (ERR_VERIFY_POSSESSION_CHALLENGE) and one to another device's challenge", () => {
    const s = serials[2]!;
    challenge(s, 'c2.json');
    const edited = readFileSync(join(tmp, 'c2.json'), 'utf8').replace(/"expiresAt":"[^"]+"/, '"expiresAt":"2099-01-01T00:00:00Z"');
    writeFileSync(join(tmp, 'c2-edited.json'), edited);
    respond(s, 'c2-edited.json', 'r2-edited.json');
    const r = verify(s, '--response', join(tmp, 'r2-edited.json'));
    assert.equal(r.status, 1);
    assert.equal(r.json.data.results[0].code, 'ERR_VERIFY_POSSESSION_CHALLENGE');
    // The challenge issued for device 0, answered with device 2's key and shown with device 2's bundle.
    challenge(serials[0]!, 'c-other.json');
    respond(s, 'c-other.json', 'r-other.json');
    const other = verify(s, '--response', join(tmp, 'r-other.json'));
    assert.equal(other.json.data.results[0].code, 'ERR_VERIFY_POSSESSION_DEVICE');
  });

  it('checks the response on this thread when worker threads are forced (was: a worker verified without it)', () => {
    const s = serials[2]!;
    challenge(s, 'c-threads.json');
    const edited = readFileSync(join(tmp, 'c-threads.json'), 'utf8').replace(/"expiresAt":"[^"]+"/, '"expiresAt":"2099-01-01T00:00:00Z"');
    writeFileSync(join(tmp, 'c-threads-edited.json'), edited);
    respond(s, 'c-threads-edited.json', 'r-threads-edited.json');
    const args = [
      'devices',
      'verify',
      '--store',
      customer,
      '--bundle',
      join(tmp, 'bundles', `${s}.json`),
      ...trust(),
      '--json',
      '--response',
      join(tmp, 'r-threads-edited.json'),
    ];
    const r = custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS, CUSTODY_THREADS: '2' }, cwd: tmp });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.json.data.results[0].code, 'ERR_VERIFY_POSSESSION_CHALLENGE');
  });

  it('a bad --ldevid-csr is refused before the activation is recorded (was: activated, and no LDevID ever)', () => {
    const s = serials[2]!;
    writeFileSync(join(tmp, 'bad.csr'), '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n');
    const before = snapshot(customer);
    const r = activate(s, '--ldevid-ca', 'customer-root', '--ldevid-csr', join(tmp, 'bad.csr'), '--ldevid-out', join(tmp, 'ldevid.pem'));
    assert.equal(r.status, 3, r.stdout + r.stderr);
    assert.match(r.json.error.message, /bad\.csr/);
    assert.deepEqual(snapshot(customer), before, 'nothing recorded');
    assert.equal(activate(s).status, 0, 'the device can still be activated');
  });

  it('says who holds the device, and rejects a chain that ends at another party than --as or --expected-custodian names', () => {
    const s = serials[2]!;
    const plain = cli(['devices', 'verify', '--store', customer, '--bundle', join(tmp, 'bundles', `${s}.json`), ...trust()]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout.split('\n')[0]!, /ACCEPTED; held by "receiving" \(key [0-9a-f]{16}\.\.\.\), not checked against an expected custodian/);
    assert.equal(verify(s, '--as', 'receiving').status, 0);
    const wrong = verify(s, '--as', 'other-desk');
    assert.equal(wrong.status, 1);
    assert.equal(wrong.json.data.results[0].code, 'ERR_VERIFY_CUSTODIAN');
    assert.equal(verify(s, '--expected-custodian', join(tmp, 'other-desk.pem')).json.data.results[0].code, 'ERR_VERIFY_CUSTODIAN');
    const both = verify(s, '--as', 'receiving', '--expected-custodian', join(tmp, 'receiving.pem'));
    assert.equal(both.status, 2);
  });
});
