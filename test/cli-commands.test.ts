/**
 * Every command of the built CLI, a happy path and a failure each, under --json: the output is one envelope
 * that fits the command's JSON Schema in docs/schemas/ (ajv), the exit code is the one DESIGN.md assigns to the
 * error code, and data follows the conventions (PEM in *Pem fields, paths in file/*File fields). Also: unknown
 * commands and flags get the one-line error with a suggestion, or the error envelope under --json.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BIN, cliEnv, custody } from './e2e-helpers.js';
import { SCHEMAS, assertEnvelope, conventionBreaks, schemaFile } from './cli-json-schema.js';
import { createTestDatabase, requirePg } from './pg/cluster.js';

const PASS = 'cli commands passphrase';
const ENV = { CUSTODY_PASSPHRASE: PASS };

/** Runs `custody <command> <args> --json`, checks the envelope against the schema and returns it. */
function run(command: string, args: string[], opts: { cwd?: string } = {}) {
  const r = custody([...command.split(' '), ...args, '--json'], { env: ENV, cwd: opts.cwd });
  const e = assertEnvelope(command, r.stdout);
  assert.equal(e.command, command);
  assert.equal(r.status, e.ok ? 0 : e.error!.exit, `the exit code is the envelope's: ${r.stdout.slice(0, 800)}\n${r.stderr}`);
  if (e.data !== undefined) assert.deepEqual(conventionBreaks(e.data), []);
  return e;
}

/** A run that must succeed; its data. */
function ok(command: string, args: string[], opts: { cwd?: string } = {}): any {
  const e = run(command, args, opts);
  assert.equal(e.ok, true, JSON.stringify(e.error));
  return e.data;
}

/** A run that must fail with `code` and `exit`; its envelope. */
function fails(command: string, args: string[], code: string | RegExp, exit: number) {
  const e = run(command, args);
  assert.equal(e.ok, false, `${command} should fail with ${code}`);
  if (typeof code === 'string') assert.equal(e.error!.code, code, e.error!.message);
  else assert.match(e.error!.code, code, e.error!.message);
  assert.equal(e.error!.exit, exit);
  return e;
}

/** A run with text output that must fail with one line `custody: ... [CODE]` on stderr. */
function oneLine(args: string[], exit: number, code: string): string {
  const r = custody(args, { env: ENV });
  assert.equal(r.status, exit, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^custody: .* \\[${code}\\]$`));
  return lines[0]!;
}

describe('every command under --json: one envelope, its schema, its exit code', function () {
  this.timeout(300_000);
  let tmp: string;
  let a: string;
  const f = (name: string) => join(tmp, name);
  const S = () => ['--store', a];
  const verifyArgs = (bundle: string) => ['--bundle', bundle, '--trust', f('root.pem')];

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-cli-commands-'));
    a = f('a');
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('has a schema for every command of the manifest, and no schema without a command', function () {
    const manifest = JSON.parse(readFileSync(new URL('../packages/cli/oclif.manifest.json', import.meta.url), 'utf8')) as { commands: Record<string, unknown> };
    const commands = Object.keys(manifest.commands).map((id) => id.replaceAll(':', ' '));
    const files = readdirSync(SCHEMAS).filter((x) => x !== 'envelope.schema.json');
    assert.deepEqual(files.sort(), commands.map(schemaFile).sort());
  });

  it('init, ca create, parties create', function () {
    assert.equal(ok('init', S()).store, a);
    fails('init', S(), 'ERR_CONFLICT_STORE_EXISTS', 4);
    const root = ok('ca create', [...S(), '--name', 'root', '--organization', 'Acme']);
    assert.equal(root.name, 'root');
    writeFileSync(f('root.pem'), root.certificatePem);
    assert.equal(ok('ca create', [...S(), '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme']).issuer, 'root');
    fails('ca create', [...S(), '--name', 'orphan', '--issuer', 'no-such-ca', '--organization', 'Acme'], 'ERR_USAGE_UNKNOWN_CA', 2);
    for (const name of ['factory', 'integrator', 'reseller'])
      assert.match(ok('parties create', [...S(), '--name', name, '--ca', 'root', '--organization', name]).spkiSha256, /^[0-9a-f]{64}$/);
    fails('parties create', [...S(), '--name', 'lost', '--ca', 'no-such-ca', '--organization', 'Acme'], 'ERR_USAGE_UNKNOWN_CA', 2);
  });

  it('templates list, certs inspect: no store needed', function () {
    assert.ok(ok('templates list', []).templates.some((t: { name: string }) => t.name === 'idevid'));
    const bad = f('bad-templates');
    cpSync(new URL('../certs-templates/', import.meta.url), bad, { recursive: true });
    writeFileSync(join(bad, 'broken.yaml'), 'name: broken\nkind: nonsense\n');
    fails('templates list', ['--templates', bad], /^ERR_/, 3);
    // A missing templates folder is a usage error naming it (was ERR_INTERNAL, exit 5, with a raw errno).
    fails('templates list', ['--templates', f('no-such-templates')], 'ERR_USAGE_TEMPLATES', 2);
    const inspected = ok('certs inspect', [f('root.pem')]);
    assert.equal(inspected.kind, 'certificate');
    assert.equal(inspected.certificate.subject.includes('root'), true);
    fails('certs inspect', [join(a, 'store.json')], /^ERR_/, 3);
  });

  it('ca list, parties list, ca export, parties export', function () {
    assert.deepEqual(
      ok('ca list', S())
        .cas.map((c: { name: string }) => c.name)
        .sort(),
      ['issuing', 'root'],
    );
    fails('ca list', ['--store', f('no-store')], 'ERR_STORE_MISSING', 5);
    const parties = ok('parties list', S()).parties;
    assert.deepEqual(parties.map((p: { name: string }) => p.name).sort(), ['factory', 'integrator', 'reseller']);
    fails('parties list', ['--store', f('no-store')], 'ERR_STORE_MISSING', 5);
    const exported = ok('ca export', [...S(), 'issuing', '--chain', '--out', f('issuing-chain.pem')]);
    assert.equal(exported.file, f('issuing-chain.pem'));
    assert.equal(exported.chainPem.length, 1);
    fails('ca export', [...S(), 'no-such-ca'], 'ERR_USAGE_UNKNOWN_CA', 2);
    writeFileSync(f('factory.pem'), ok('parties export', [...S(), 'factory']).certificatePem);
    fails('parties export', [...S(), 'nobody'], 'ERR_USAGE_PARTY', 2);
  });

  it('code signer create, code signer export, code sign (CMS and IMA)', function () {
    const created = ok('code signer create', [...S(), '--name', 'ops', '--ca', 'root', '--organization', 'Acme']);
    assert.match(created.spkiSha256, /^[0-9a-f]{64}$/);
    fails('code signer create', [...S(), '--name', 'lost-signer', '--ca', 'no-such-ca', '--organization', 'Acme'], 'ERR_USAGE_UNKNOWN_CA', 2);
    fails('code signer create', [...S(), '--name', 'wrong-kind', '--ca', 'root', '--organization', 'Acme', '--template', 'party'], 'ERR_TEMPLATE_KIND', 3);
    const listed = ok('parties list', S()).parties.find((p: { name: string }) => p.name === 'ops');
    assert.equal(listed.role, 'code-signer');
    assert.equal(ok('code signer export', [...S(), 'ops']).certificatePem, created.certificatePem);
    fails('code signer export', [...S(), 'factory'], 'ERR_USAGE_SIGNER', 2);
    writeFileSync(f('rotate.sh'), '#!/bin/sh\necho rotate\n');
    const cms = ok('code sign', [...S(), '--file', f('rotate.sh'), '--signer', 'ops', '--version', '1.2']);
    assert.deepEqual(
      [cms.format, cms.type, cms.version, cms.signatureFile, cms.signer.spkiSha256],
      ['cms', 'script', '1.2', f('rotate.sh.sig'), created.spkiSha256],
    );
    assert.ok(existsSync(f('rotate.sh.sig')));
    const ima = ok('code sign', [...S(), '--file', f('rotate.sh'), '--signer', 'ops', '--format', 'ima', '--out', f('rotate.ima')]);
    assert.match(ima.imaKeyId, /^[0-9a-f]{8}$/);
    assert.equal(readFileSync(f('rotate.ima'))[0], 3);
    fails('code sign', [...S(), '--file', f('rotate.sh'), '--signer', 'ops'], 'ERR_IO_EXISTS', 5);
    fails('code sign', [...S(), '--file', f('rotate.sh'), '--signer', 'factory', '--out', f('x.sig')], 'ERR_USAGE_SIGNER', 2);
    fails('code sign', [...S(), '--file', f('no-such-file'), '--signer', 'ops', '--out', f('x.sig')], 'ERR_INPUT_READ', 3);
    fails('code sign', [...S(), '--file', f('rotate.sh'), '--signer', 'ops', '--format', 'gpg', '--out', f('x.sig')], 'ERR_USAGE_FLAGS', 2);
    assert.equal(existsSync(f('x.sig')), false);
  });

  it('log init, devices provision, log checkpoint, log prove, log consistency', function () {
    const log = ok('log init', [...S(), '--origin', 'acme.example/log', '--pub', f('log.pub')]);
    assert.equal(log.pubFile, f('log.pub'));
    fails('log init', [...S(), '--origin', 'acme.example/log', '--pub', f('log2.pub')], 'ERR_CONFLICT_LOG_EXISTS', 4);
    const p = ok('devices provision', [...S(), '--ca', 'issuing', '--generate', '3', '--party', 'factory', '--out', f('issued'), '--lot', 'L1']);
    assert.deepEqual(
      p.devices.map((d: { serial: string }) => d.serial),
      ['SN000001', 'SN000002', 'SN000003'],
    );
    assert.equal(p.devices[0].keyFile, join(f('issued'), 'SN000001.key.pem'));
    fails('devices provision', [...S(), '--ca', 'no-such-ca', '--generate', '1'], 'ERR_USAGE_UNKNOWN_CA', 2);
    assert.equal(ok('log checkpoint', S()).treeSize, 3);
    fails('log checkpoint', [...S(), '--size', '999'], 'ERR_USAGE_LOG_SIZE', 2);
    assert.equal(ok('log prove', [...S(), '--serial', 'SN000001']).proofs.length, 1);
    fails('log prove', [...S(), '--serial', 'nope'], 'ERR_DEVICE_UNKNOWN', 4);
    assert.equal(ok('log consistency', [...S(), '--old', '1']).newSize, 3);
    fails('log consistency', [...S(), '--old', '999'], 'ERR_USAGE_LOG_SIZE', 2);
  });

  it('devices show, devices challenge, agent respond', function () {
    assert.equal(ok('devices show', [...S(), 'SN000001']).serial, 'SN000001');
    fails('devices show', [...S(), 'nope'], 'ERR_DEVICE_UNKNOWN', 4);
    const c = ok('devices challenge', [...S(), '--serial', 'SN000001', '--out', f('challenge.json')]);
    assert.equal(c.file, f('challenge.json'));
    assert.equal(c.challenge.device, 'SN000001');
    fails('devices challenge', [...S(), '--serial', 'nope', '--out', f('nope.json')], 'ERR_DEVICE_UNKNOWN', 4);
    const key = join(f('issued'), 'SN000001.key.pem');
    assert.equal(ok('agent respond', ['--key', key, '--challenge', f('challenge.json'), '--out', f('response.json')]).file, f('response.json'));
    fails('agent respond', ['--key', key, '--challenge', join(a, 'store.json'), '--out', f('response2.json')], 'ERR_CHALLENGE_MALFORMED', 3);
    assert.ok(!existsSync(f('response2.json')));
    const csr = ok('agent csr', ['--key', key, '--serial', 'SN000001', '--out', f('agent.csr')]);
    assert.equal(csr.file, f('agent.csr'));
    assert.match(readFileSync(f('agent.csr'), 'utf8'), /^-----BEGIN CERTIFICATE REQUEST-----/);
    fails('agent csr', ['--key', key, '--serial', 'SN\u00e9', '--out', f('agent2.csr')], 'ERR_USAGE_SERIAL', 2);
    fails('agent csr', ['--key', f('no-such.key.pem'), '--serial', 'SN000001', '--out', f('agent2.csr')], 'ERR_INPUT_READ', 3);
    assert.ok(!existsSync(f('agent2.csr')));
  });

  it('devices export, devices verify (an accepted and a rejected bundle, its whole report in data)', function () {
    assert.equal(ok('devices export', [...S(), '--serial', 'SN000001', '--out', f('b1.json')]).bundles[0].file, f('b1.json'));
    ok('devices export', [...S(), '--serial', 'SN000002', '--out', f('b2.json')]);
    fails('devices export', [...S(), '--serial', 'nope', '--out', f('nope.json')], 'ERR_DEVICE_UNKNOWN', 4);
    assert.equal(ok('devices export-certs', [...S(), '--serial', 'SN000001', '--out', f('certs-again')]).certificates[0].serial, 'SN000001');
    assert.ok(existsSync(join(f('certs-again'), 'SN000001.pem')));
    fails('devices export-certs', [...S(), '--serial', 'nope', '--out', f('certs-none')], 'ERR_DEVICE_UNKNOWN', 4);
    const v = ok('devices verify', [...S(), ...verifyArgs(f('b1.json')), '--response', f('response.json')]);
    assert.equal(v.accepted, true);
    assert.ok(v.results[0].checks.some((c: { name: string; ok: boolean }) => c.name === 'proof of possession' && c.ok));
    const other = f('other-root.pem');
    ok('init', ['--store', f('other')]);
    writeFileSync(other, ok('ca create', ['--store', f('other'), '--name', 'r', '--organization', 'Other'], {}).certificatePem);
    const rejected = fails('devices verify', ['--bundle', f('b1.json'), '--trust', other, '--store', f('no-store')], /^ERR_/, 1);
    assert.equal(rejected.data.accepted, false);
    assert.ok(rejected.data.results[0].checks.length > 0, 'the whole report is in data');
  });

  it('firmware export (a TUF repository, then its next version), devices verify --releases (not a folder)', function () {
    const r = ok('firmware export', [...S(), '--format', 'tuf', f('tuf')]);
    assert.deepEqual([r.version, r.releases, r.targets, r.keysCreated], [1, 0, [], true]);
    assert.ok(existsSync(join(f('tuf'), 'metadata', '1.root.json')));
    assert.deepEqual([ok('firmware export', [...S(), '--format', 'tuf', f('tuf')]).version], [2]);
    fails('firmware export', [...S(), '--format', 'zip', f('zip')], 'ERR_USAGE_FORMAT', 2);
    assert.ok(!existsSync(f('zip')));
    fails('devices verify', [...S(), ...verifyArgs(f('b1.json')), '--releases', f('no-such-folder')], 'ERR_USAGE_RELEASES', 2);
  });

  it('devices handoff, and a second handoff from the same point refused with its results in data', function () {
    // A copy of the store from before the handoff: the same device handed to someone else there is a fork.
    cpSync(a, f('a-copy'), { recursive: true });
    const h = ok('devices handoff', [...S(), '--serial', 'SN000002', '--party', 'factory', '--to', 'integrator']);
    assert.equal(h.results[0].ok, true);
    const again = fails('devices handoff', [...S(), '--serial', 'SN000002', '--party', 'factory', '--to', 'reseller'], 'ERR_NOT_CUSTODIAN', 4);
    assert.equal(again.data.results[0].code, 'ERR_NOT_CUSTODIAN');
    ok('devices handoff', ['--store', f('a-copy'), '--serial', 'SN000002', '--party', 'factory', '--to', 'reseller']);
    ok('devices export', ['--store', f('a-copy'), '--serial', 'SN000002', '--out', f('fork.json')]);
    ok('devices export', [...S(), '--serial', 'SN000002', '--out', f('b2-handed.json')]);
  });

  it('parties import, devices import (a refused bundle keeps every result in data)', function () {
    const b = ['--store', f('b')];
    ok('init', b);
    assert.match(ok('parties import', [...b, '--name', 'factory', '--cert', f('factory.pem')]).spkiSha256, /^[0-9a-f]{64}$/);
    fails('parties import', [...b, '--name', 'bad', '--cert', join(a, 'store.json')], 'ERR_PEM', 3);
    assert.equal(ok('devices import', [...b, f('b1.json'), '--trust', f('root.pem')]).results[0].outcome, 'added');
    const tampered = f('tampered.json');
    writeFileSync(tampered, '{"version": 1}\n');
    const refused = fails('devices import', [...b, tampered, '--trust', f('root.pem')], /^ERR_/, 3);
    assert.equal(refused.data.results[0].outcome, 'refused');
  });

  it('devices activate: a rejection reports the verification in data (exit 1), then the activation', function () {
    const rejected = fails(
      'devices activate',
      [...S(), '--serial', 'SN000001', '--party', 'factory', '--trust', f('root.pem'), '--policy', 'healthcare'],
      /^ERR_/,
      1,
    );
    assert.equal(rejected.data.accepted, false);
    assert.equal(rejected.data.report.ok, false);
    writeFileSync(
      f('code-policy.yaml'),
      'name: edge\nversion: 1\nidentities:\n  - name: owner\n    ca: root\nscopes:\n  - name: all\n    types: [script]\n    paths: ["**"]\n    level: enforce\n    signers: [owner]\n',
    );
    fails(
      'devices activate',
      [...S(), '--serial', 'SN000001', '--party', 'factory', '--trust', f('root.pem'), '--code-policy', f('issued')],
      'ERR_INPUT_NOT_FILE',
      3,
    );
    const r = ok('devices activate', [
      ...S(),
      '--serial',
      'SN000001',
      '--party',
      'factory',
      '--trust',
      f('root.pem'),
      '--response',
      f('response.json'),
      '--code-policy',
      f('code-policy.yaml'),
    ]);
    assert.equal(r.accepted, true);
    assert.equal(typeof r.seq, 'number');
    assert.equal(r.codeValidation.policy, 'edge');
  });

  it('agent enroll, agent check-code', function () {
    ok('devices export', [...S(), '--serial', 'SN000001', '--out', f('b1-activated.json')]);
    const enroll = ['--idevid', join(f('issued'), 'SN000001.pem'), '--manufacturer', f('root.pem'), '--state', f('agent')];
    fails('agent check-code', ['--file', f('code-policy.yaml'), '--sig', f('code-policy.yaml'), '--state', f('agent')], 'ERR_CODE_NOT_ENROLLED', 4);
    fails('agent enroll', ['--bundle', f('b2.json'), ...enroll], 'ERR_ENROLL_DEVICE', 1);
    const e = ok('agent enroll', ['--bundle', f('b1-activated.json'), ...enroll]);
    assert.deepEqual([e.outcome, e.policy, e.stateFile], ['new', 'edge', join(f('agent'), 'enrollment.json')]);
    fails('agent check-code', ['--file', f('code-policy.yaml'), '--sig', f('code-policy.yaml'), '--state', f('agent')], 'ERR_CODE_SIGNATURE_MALFORMED', 3);
  });

  it('ca revoke, ca crl', function () {
    assert.equal(ok('ca revoke', [...S(), '--ca', 'issuing', '--serial', 'SN000003', '--reason', 'keyCompromise']).device, 'SN000003');
    fails('ca revoke', [...S(), '--ca', 'issuing', '--serial', 'nope'], 'ERR_DEVICE_UNKNOWN', 4);
    assert.equal(ok('ca crl', [...S(), '--ca', 'issuing', '--out', f('issuing.crl')]).file, f('issuing.crl'));
    fails('ca crl', [...S(), '--ca', 'no-such-ca', '--out', f('x.crl')], 'ERR_USAGE_UNKNOWN_CA', 2);
  });

  it('firmware signer create, firmware release, firmware revoke, firmware list, agent update', function () {
    const signer = ok('firmware signer create', [...S(), '--name', 'fw', '--ca', 'issuing']);
    assert.match(signer.spkiSha256, /^[0-9a-f]{64}$/);
    fails('firmware signer create', [...S(), '--name', 'fw', '--ca', 'issuing'], 'ERR_CONFLICT_NAME', 4);
    writeFileSync(f('fw.bin'), Buffer.alloc(4096, 7));
    const rel = ['--file', f('fw.bin'), '--version', '2.0', '--model', 'GW-1', '--expires', 'P30D', '--signer', 'fw'];
    const r = ok('firmware release', [...S(), ...rel, '--security-counter', '4', '--out', f('fw-2.0.release')]);
    assert.equal(r.file, f('fw-2.0.release'));
    assert.equal(r.previous, null);
    fails('firmware release', [...S(), ...rel, '--security-counter', '3', '--out', f('fw-low.release')], 'ERR_CONFLICT_SECURITY_COUNTER', 4);
    assert.equal(existsSync(f('fw-low.release')), false);
    const w = ok('firmware revoke', [...S(), '--signer', 'fw', '--out', f('withdrawals.der')]);
    assert.deepEqual([w.number, w.withdrawn], [1, []]);
    fails('firmware revoke', [...S(), '--signer', 'fw', '--release', '9.9', '--out', f('w2.der')], 'ERR_USAGE_RELEASE', 2);
    const listed = ok('firmware list', S());
    assert.deepEqual(
      listed.releases.map((x: { version: string; withdrawn: boolean }) => [x.version, x.withdrawn]),
      [['2.0', false]],
    );
    fails('firmware list', ['--store', f('no-store')], 'ERR_STORE_MISSING', 5);
    const agent = ['--manifest', f('fw-2.0.release'), '--image', f('fw.bin'), '--trust', f('root.pem'), '--state', f('update.json')];
    fails('agent update', [...agent, '--model', 'GW-1'], 'ERR_UPDATE_STATE_MISSING', 1);
    const u = ok('agent update', [...agent, '--model', 'GW-1', '--withdrawals', f('withdrawals.der'), '--create-state']);
    assert.deepEqual([u.previousCounter, u.counter, u.stateFile], [0, 4, f('update.json')]);
    fails('agent update', [...agent, '--model', 'GW-2'], 'ERR_RELEASE_MODEL', 1);
  });

  it('monitor on the embedded store: nothing found, then a fork (exit 1, findings in data), then a missing CRL', function () {
    assert.deepEqual(ok('monitor', S()).findings, []);
    const forked = fails('monitor', [...S(), '--bundles', f('fork.json')], 'ERR_MONITOR_FINDINGS', 1);
    assert.ok(forked.data.findings.some((x: { kind: string; device: string }) => x.kind === 'fork'));
    fails('monitor', [...S(), '--crl', f('nope.crl')], 'ERR_INPUT_READ', 3);
  });

  it('monitor on PostgreSQL: nothing found, then the same fork', async function () {
    const url = await createTestDatabase(requirePg(this), 'custody_cli_monitor');
    const pg = ['--store', url];
    ok('init', pg);
    ok('devices import', [...pg, f('b2-handed.json'), '--trust', f('root.pem')]);
    assert.equal(ok('monitor', pg).devices, 1);
    const forked = fails('monitor', [...pg, '--bundles', f('fork.json')], 'ERR_MONITOR_FINDINGS', 1);
    assert.ok(forked.data.findings.some((x: { kind: string }) => x.kind === 'fork'));
  });

  it('demo: the whole chain accepted; a usage error in the envelope', function () {
    const d = ok('demo', ['--out', f('demo'), '--devices', '2'], { cwd: tmp });
    assert.equal(d.accepted, true);
    fails('demo', ['--out', f('demo2'), '--devices', '0'], 'ERR_USAGE', 2);
  });
});

describe('unknown commands and flags: one line with a suggestion, or the error envelope', function () {
  this.timeout(60_000);

  it('a mistyped command names the nearest one, exit 2', function () {
    const line = oneLine(['devices', 'provison'], 2, 'ERR_USAGE_UNKNOWN_COMMAND');
    assert.match(line, /did you mean "devices provision"\?/);
    oneLine(['frobnicate'], 2, 'ERR_USAGE_UNKNOWN_COMMAND');
  });

  it('a mistyped flag names the nearest one, exit 2, also on the lean launcher path', function () {
    assert.match(oneLine(['devices', 'verify', '--bundel', 'x.json'], 2, 'ERR_USAGE_UNKNOWN_FLAG'), /did you mean --bundle\?/);
    assert.match(oneLine(['devices', 'provision', '--ca', 'x', '--generate', '1', '--modle', 'X1'], 2, 'ERR_USAGE_UNKNOWN_FLAG'), /did you mean --model\?/);
  });

  it('under --json both print the error envelope on stdout and nothing on stderr', function () {
    for (const [args, code] of [
      [['devices', 'provison', '--json'], 'ERR_USAGE_UNKNOWN_COMMAND'],
      [['devices', 'verify', '--bundel', 'x', '--json'], 'ERR_USAGE_UNKNOWN_FLAG'],
    ] as const) {
      const r = custody([...args], { env: ENV });
      assert.equal(r.status, 2);
      assert.equal(r.stderr, '');
      const e = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(e), ['ok', 'command', 'error']);
      assert.equal(e.error.code, code);
      assert.equal(e.error.exit, 2);
    }
  });

  it('the lean launcher and oclif print the same envelope for devices provision', function () {
    const args = ['devices', 'provision', '--store', join(tmpdir(), 'custody-no-such-store'), '--ca', 'x', '--generate', '1', '--json'];
    const viaOclif = `import { execute } from '@oclif/core'; await execute({ dir: ${JSON.stringify(BIN)}, args: ${JSON.stringify(args)} });`;
    const slow = spawnSync(process.execPath, ['--input-type=module', '-e', viaOclif], {
      encoding: 'utf8',
      env: cliEnv(ENV),
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    const fast = custody(args, { env: ENV });
    assert.equal(fast.status, 5, fast.stderr);
    assert.equal(slow.stdout, fast.stdout);
    assert.equal(assertEnvelope('devices provision', fast.stdout).error?.code, 'ERR_STORE_MISSING');
  });

  it('help shows no "[default: ]" for list flags, and --store only where a store is opened', function () {
    assert.doesNotMatch(custody(['devices', 'verify', '--help']).stdout, /\[default: \]/);
    assert.doesNotMatch(custody(['templates', 'list', '--help']).stdout, /--store/);
    assert.match(custody(['ca', 'list', '--help']).stdout, /--store/);
  });
});
