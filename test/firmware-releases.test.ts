/**
 * `devices verify --releases` end to end, through the built CLI: one store makes a manufacturer PKI, a firmware
 * signer, releases (two counters for the device's model, one for another model, one it then withdraws), and five
 * devices whose integrators install firmware in different ways. Only the chain that installs a signed,
 * unwithdrawn release for its model, with counters rising, is accepted; each other is rejected with its code.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON } from './e2e-helpers.js';

const ENV = { CUSTODY_PASSPHRASE: 'firmware releases e2e' };
const MODEL = 'Sensor X1';
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('devices verify --releases (CLI end to end)', function () {
  this.timeout(300_000);
  let tmp: string;
  const f = (name: string) => join(tmp, name);
  const S = () => ['--store', f('store')];

  /** A command that must succeed; its --json data. */
  function ok(args: string[]): any {
    const r = custodyJSON([...args, '--json'], { env: ENV });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout.slice(0, 600)} ${r.stderr}`);
    return r.json.data;
  }

  /** Verifies one device's bundle; the envelope and the exit status. */
  function verify(serial: string, more: string[] = ['--releases', f('releases')]) {
    const r = custodyJSON(
      ['devices', 'verify', '--bundle', f(`${serial}.json`), '--trust', f('root.pem'), '--policy', f('fw-policy.yaml'), ...more, '--json'],
      {
        env: ENV,
      },
    );
    return { status: r.status, envelope: r.json };
  }

  function rejected(serial: string, code: string, more?: string[]): any {
    const { status, envelope } = verify(serial, more);
    assert.equal(status, 1, JSON.stringify(envelope).slice(0, 800));
    assert.equal(envelope.ok, false);
    assert.equal(envelope.error.code, code, JSON.stringify(envelope.data?.results?.[0]?.checks.filter((c: any) => !c.ok)));
    return envelope.data.results[0];
  }

  /** Writes an image and releases it; the manifest's hash and the image's. */
  function release(name: string, counter: number, model: string): { hash: string; image: string } {
    const image = new TextEncoder().encode(`firmware ${name} `.repeat(512));
    writeFileSync(f(`${name}.bin`), image);
    const out = f(`releases/${name}.release.der`);
    ok(
      ['firmware', 'release', ...S(), '--file', f(`${name}.bin`), '--version', name, '--security-counter', String(counter)].concat([
        '--model',
        model,
        '--expires',
        'P1Y',
        '--signer',
        'fw',
        '--out',
        out,
      ]),
    );
    return { hash: sha256(readFileSync(out)), image: sha256(image) };
  }

  /** Hands `serial` on from `party` to `to`, attesting the claims. */
  function handoff(serial: string, party: string, to: string, claims: object): void {
    const file = f(`claims-${serial}-${party}.json`);
    writeFileSync(file, JSON.stringify(claims));
    ok(['devices', 'handoff', ...S(), '--serial', serial, '--party', party, '--to', to, '--claims', file]);
  }

  const installs = (r: { hash?: string; image: string }) => ({ firmware: { version: 'x', sha256: r.image, ...(r.hash ? { release: r.hash } : {}) } });

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-fw-verify-'));
    mkdirSync(f('releases'));
    ok(['init', ...S()]);
    writeFileSync(f('root.pem'), ok(['ca', 'create', ...S(), '--name', 'root', '--organization', 'Acme']).certificatePem);
    ok(['ca', 'create', ...S(), '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme']);
    for (const p of ['factory', 'integrator', 'reseller']) ok(['parties', 'create', ...S(), '--name', p, '--ca', 'root', '--organization', p]);
    ok(['firmware', 'signer', 'create', ...S(), '--name', 'fw', '--ca', 'issuing', '--organization', 'Acme']);
    writeFileSync(f('fw-policy.yaml'), 'name: fw\nlogInclusion: optional\nproofOfPossession: optional\nrevocationCheck: optional\nsignedFirmware: required\n');
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('accepts a signed release and rejects an unsigned image, a withdrawn release, another model and a lower counter', function () {
    const r1 = release('1.1', 1, MODEL);
    const r2 = release('1.2', 2, MODEL);
    const other = release('9.0', 2, 'Sensor Y9');
    const gone = release('1.3', 3, MODEL);
    ok(['firmware', 'revoke', ...S(), '--signer', 'fw', '--release', '1.3', '--out', f('releases/withdrawals.der')]);
    ok([
      'devices',
      'provision',
      ...S(),
      '--ca',
      'issuing',
      '--generate',
      '5',
      '--model',
      MODEL,
      '--party',
      'factory',
      '--to',
      'integrator',
      '--out',
      f('issued'),
    ]);
    const [good, unsigned, withdrawn, otherModel, rollback] = ['SN000001', 'SN000002', 'SN000003', 'SN000004', 'SN000005'];
    handoff(good!, 'integrator', 'reseller', installs(r2));
    handoff(unsigned!, 'integrator', 'reseller', installs({ image: r2.image }));
    handoff(withdrawn!, 'integrator', 'reseller', installs(gone));
    handoff(otherModel!, 'integrator', 'reseller', installs(other));
    handoff(rollback!, 'integrator', 'reseller', installs(r2));
    handoff(rollback!, 'reseller', 'factory', installs(r1));
    for (const s of [good, unsigned, withdrawn, otherModel, rollback]) ok(['devices', 'export', ...S(), '--serial', s!, '--out', f(`${s}.json`)]);

    const accepted = verify(good!);
    assert.equal(accepted.status, 0, JSON.stringify(accepted.envelope).slice(0, 800));
    const check = accepted.envelope.data.results[0].checks.find((c: any) => c.name === 'attestation 1: firmware');
    assert.match(check.reason, /release 1\.2 \(counter 2\) signed by ".*fw.*" for Sensor X1/);

    rejected(unsigned!, 'ERR_VERIFY_FIRMWARE_UNSIGNED');
    assert.match(rejected(withdrawn!, 'ERR_VERIFY_FIRMWARE_WITHDRAWN').checks.find((c: any) => !c.ok).reason, /release 1\.3 .* was withdrawn/);
    rejected(otherModel!, 'ERR_VERIFY_FIRMWARE_MODEL');
    const back = rejected(rollback!, 'ERR_VERIFY_FIRMWARE_ROLLBACK').checks.find((c: any) => !c.ok);
    assert.equal(back.attestation, 2);
    // The policy fails closed without the releases; without the policy, nothing asks for them.
    rejected(good!, 'ERR_POLICY_SIGNED_FIRMWARE', []);

    // The same releases as a TUF repository: every manifest, the withdrawal list, and the image given.
    const tuf = ok(['firmware', 'export', ...S(), '--format', 'tuf', f('tuf'), '--image', f('1.2.bin')]);
    assert.equal(tuf.releases, 4);
    assert.deepEqual(
      [...tuf.targets].sort(),
      [...[r1, r2, other, gone].map((r) => `releases/${r.hash}.der`), 'withdrawals/1.der', `images/${r2.image}/1.2.bin`].sort(),
    );
    const targets = JSON.parse(readFileSync(f('tuf/metadata/1.targets.json'), 'utf8')).signed.targets;
    assert.equal(targets[`releases/${r2.hash}.der`].custom.custody.securityCounter, 2);
    assert.equal(targets[`images/${r2.image}/1.2.bin`].hashes.sha256, r2.image);
  });

  it('a file in --releases that is neither a manifest nor a withdrawal list is bad input, named (exit 3)', function () {
    mkdirSync(f('bad-releases'));
    writeFileSync(f('bad-releases/notes.txt'), 'not a release\n');
    const { status, envelope } = verify('SN000001', ['--releases', f('bad-releases')]);
    assert.equal(status, 3);
    assert.equal(envelope.error.code, 'ERR_INPUT_RELEASE_FILE');
    assert.match(envelope.error.message, /notes\.txt: neither a release manifest nor a withdrawal list/);
  });
});
