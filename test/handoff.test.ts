/**
 * Handoffs and bundles end to end, with the built CLI: three organisations with their own stores and only
 * bundle files between them (manufacturer -> integrator -> reseller); every refusal named by its code with the
 * store left byte for byte as it was; every attestation accepted by `openssl cms -verify`; and a large batch
 * signed on a worker thread deciding each device as the main thread does.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '@custody/store';
import { custodyJSON, openssl, snapshot, type CLIRun } from './e2e-helpers.js';

const PASS = 'handoff test passphrase';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('handoffs and bundles across three stores (CLI end to end)', function () {
  this.timeout(240_000);
  let tmp: string;
  let acme: string;
  let north: string;
  let resale: string;
  const cli = (args: string[], env: Record<string, string> = {}): CLIRun => custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS, ...env }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const partyCert = (store: string, name: string, file: string): string => {
    writeFileSync(file, JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')).parties[name].certificate);
    return file;
  };
  const caCert = (store: string, name: string, file: string): string => {
    writeFileSync(file, JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')).cas[name].certificate);
    return file;
  };
  /** Each device of the factory's store has birth and one handoff, which openssl accepts and which links to the birth. */
  const assertHandedOnce = async (serials: string[]) => {
    const store = await EmbeddedStore.open(acme);
    try {
      for (const s of serials) {
        const d = (await store.getDevice(s))!;
        assert.equal(d.attestations.length, 2);
        const file = join(tmp, `${s}-1.der`);
        writeFileSync(file, d.attestations[1]!);
        const statement = JSON.parse(
          openssl(['cms', '-verify', '-inform', 'DER', '-binary', '-purpose', 'any', '-CAfile', join(tmp, 'acme-root.pem'), '-in', file]),
        );
        assert.equal(statement.predicate.prev, sha256(d.attestations[0]!));
      }
    } finally {
      await store.close();
    }
  };
  /** Runs a command that must fail, and checks that it changed nothing in `store`. */
  const refused = (store: string, args: string[], env: Record<string, string> = {}): CLIRun => {
    const before = snapshot(store);
    const r = cli([...args, '--json'], env);
    assert.notEqual(r.status, 0, `custody ${args.join(' ')} should fail`);
    assert.deepEqual(snapshot(store), before, 'the store changed');
    return r;
  };

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-handoff-e2e-'));
    acme = join(tmp, 'acme');
    north = join(tmp, 'northwind');
    resale = join(tmp, 'resale');
    for (const [store, org, root, party] of [
      [acme, 'Acme', 'acme-root', 'factory'],
      [north, 'Northwind', 'nw-root', 'integrator'],
      [resale, 'Resale', 'rs-root', 'reseller'],
    ] as const) {
      ok('init', '--store', store);
      ok('ca', 'create', '--store', store, '--name', root, '--organization', org);
      ok('parties', 'create', '--store', store, '--name', party, '--ca', root, '--organization', org);
    }
    ok('ca', 'create', '--store', acme, '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    for (const [store, name] of [
      [acme, 'acme-root'],
      [north, 'nw-root'],
      [resale, 'rs-root'],
    ] as const)
      caCert(store, name, join(tmp, `${name}.pem`));
    partyCert(north, 'integrator', join(tmp, 'integrator.pem'));
    partyCert(resale, 'reseller', join(tmp, 'reseller.pem'));
    ok('devices', 'provision', '--store', acme, '--ca', 'acme-issuing', '--generate', '6', '--lot', 'L1', '--party', 'factory', '--out', join(tmp, 'devices'));
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('grows the chain across three stores with only bundle files between them', async function () {
    ok('devices', 'handoff', '--store', acme, '--serial', 'SN000001', '--party', 'factory', '--to', join(tmp, 'integrator.pem'));
    ok('devices', 'export', '--store', acme, '--serial', 'SN000001', '--out', join(tmp, 'b1.json'));
    const imported = ok(
      'devices',
      'import',
      join(tmp, 'b1.json'),
      '--store',
      north,
      '--trust',
      join(tmp, 'acme-root.pem'),
      '--trust',
      join(tmp, 'nw-root.pem'),
      '--json',
    );
    assert.equal(imported.json.data.results[0].outcome, 'added');
    ok('devices', 'handoff', '--store', north, '--serial', 'SN000001', '--party', 'integrator', '--to', join(tmp, 'reseller.pem'));
    ok('devices', 'export', '--store', north, '--serial', 'SN000001', '--out', join(tmp, 'b2.json'));
    ok(
      'devices',
      'import',
      join(tmp, 'b2.json'),
      '--store',
      resale,
      '--trust',
      join(tmp, 'acme-root.pem'),
      '--trust',
      join(tmp, 'nw-root.pem'),
      '--trust',
      join(tmp, 'rs-root.pem'),
    );
    const shown = ok('devices', 'show', 'SN000001', '--store', resale);
    assert.match(shown.stdout, /birth[\s\S]*handoff[\s\S]*handoff/, shown.stdout);

    // Every attestation: openssl accepts it and prints the statement; subject digest and hash links hold.
    const store = await EmbeddedStore.open(resale);
    const device = (await store.getDevice('SN000001'))!;
    await store.close();
    assert.equal(device.attestations.length, 3);
    const roots = join(tmp, 'roots.pem');
    writeFileSync(roots, ['acme-root', 'nw-root', 'rs-root'].map((n) => readFileSync(join(tmp, `${n}.pem`), 'utf8')).join(''));
    device.attestations.forEach((der, i) => {
      const file = join(tmp, `att-${i}.der`);
      writeFileSync(file, der);
      const statement = JSON.parse(openssl(['cms', '-verify', '-inform', 'DER', '-binary', '-purpose', 'any', '-CAfile', roots, '-in', file]));
      assert.equal(statement.subject[0].digest.sha256, sha256(device.certificate));
      assert.equal(statement.predicate.seq, i);
      assert.equal(statement.predicate.prev, i === 0 ? null : sha256(device.attestations[i - 1]!));
    });
  });

  it('refuses a handoff by a party that is not the custodian: ERR_NOT_CUSTODIAN, exit 4, store unchanged', function () {
    // SN000001 went to the integrator in the test before: the factory no longer holds it.
    const r = refused(acme, ['devices', 'handoff', '--store', acme, '--serial', 'SN000001', '--party', 'factory', '--to', join(tmp, 'reseller.pem')]);
    assert.equal(r.status, 4);
    assert.equal(r.json.error.code, 'ERR_NOT_CUSTODIAN');
  });

  it('refuses a second handoff of a device by the party that handed it on: ERR_NOT_CUSTODIAN, exit 4, store unchanged', function () {
    // The integrator handed SN000001 to the reseller; a second handoff from its store is a double transfer.
    const r = refused(north, ['devices', 'handoff', '--store', north, '--serial', 'SN000001', '--party', 'integrator', '--to', join(tmp, 'integrator.pem')]);
    assert.equal(r.status, 4);
    assert.equal(r.json.error.code, 'ERR_NOT_CUSTODIAN');
  });

  it('refuses a handoff of an unknown device: ERR_DEVICE_UNKNOWN, exit 4, store unchanged', function () {
    const r = refused(acme, ['devices', 'handoff', '--store', acme, '--serial', 'SN999999', '--party', 'factory', '--to', join(tmp, 'integrator.pem')]);
    assert.equal(r.status, 4);
    assert.equal(r.json.error.code, 'ERR_DEVICE_UNKNOWN');
  });

  it('refuses a bundle with one flipped byte, naming why, store unchanged', function () {
    ok('devices', 'export', '--store', acme, '--serial', 'SN000002', '--out', join(tmp, 'b3.json'));
    const bundle = JSON.parse(readFileSync(join(tmp, 'b3.json'), 'utf8'));
    // One byte of the birth statement's signature.
    const text = JSON.stringify(bundle);
    const at = text.indexOf('"signature":"') + '"signature":"'.length + 10;
    assert.ok(at > 20, 'the bundle has a signature field');
    const flipped = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    writeFileSync(join(tmp, 'b3-bad.json'), flipped);
    const r = refused(north, ['devices', 'import', join(tmp, 'b3-bad.json'), '--store', north, '--trust', join(tmp, 'acme-root.pem')]);
    assert.equal(r.status, 1);
    assert.match(r.json.data.results[0].code, /^ERR_/);
  });

  it('signs a large batch on a worker thread, deciding each device as the main thread does', async function () {
    // SN000001 is with the integrator already (a no-op success, issue 20); the other five of lot L1 are still
    // the factory's own. CUSTODY_THREADS=1 forces the pool.
    const threaded = cli(['devices', 'handoff', '--store', acme, '--lot', 'L1', '--party', 'factory', '--to', join(tmp, 'integrator.pem'), '--json'], {
      CUSTODY_THREADS: '1',
    });
    assert.equal(threaded.status, 0, threaded.stderr);
    const results = threaded.json.data.results as Array<{ serial: string; ok: boolean; already?: boolean; code?: string; seq?: number }>;
    assert.deepEqual(
      results.map((x) => [x.serial, x.ok, x.already ?? false, x.code ?? x.seq]),
      [['SN000001', true, true, 1], ...['SN000002', 'SN000003', 'SN000004', 'SN000005', 'SN000006'].map((s) => [s, true, false, 1])],
    );
    await assertHandedOnce(['SN000002', 'SN000006']);
  });

  it('hands on a batch of several chunks, some signed by the worker and some here, each device once', async function () {
    // 3,000 devices: three chunks in twelve pieces of 256. The worker signs those it is sent; the main thread
    // signs the pieces it takes while the worker starts.
    ok(
      'devices',
      'provision',
      '--store',
      acme,
      '--ca',
      'acme-issuing',
      '--generate',
      '3000',
      '--lot',
      'L2',
      '--party',
      'factory',
      '--serial-pattern',
      'B{seq:6}',
    );
    const r = cli(['devices', 'handoff', '--store', acme, '--lot', 'L2', '--party', 'factory', '--to', join(tmp, 'integrator.pem'), '--json'], {
      CUSTODY_THREADS: '1',
    });
    assert.equal(r.status, 0, r.stderr);
    const results = r.json.data.results as Array<{ serial: string; ok: boolean; seq?: number }>;
    assert.equal(results.length, 3000);
    assert.deepEqual(
      results.map((x) => x.serial),
      Array.from({ length: 3000 }, (_, i) => `B${String(i + 1).padStart(6, '0')}`),
    );
    assert.ok(results.every((x) => x.ok && x.seq === 1));
    await assertHandedOnce(['B000001', 'B001500', 'B003000']);
    // A run to another party finds no device the factory still holds (a run to the integrator again would be a
    // no-op success). Its --json report (about 700 KB) arrives whole: a regression test for reports of partly
    // failed batches cut short on the pipe by the exit that followed.
    const again = cli(['devices', 'handoff', '--store', acme, '--lot', 'L2', '--party', 'factory', '--to', join(tmp, 'reseller.pem'), '--json'], {
      CUSTODY_THREADS: '1',
    });
    assert.equal(again.status, 4);
    assert.ok((again.json.data.results as Array<{ ok: boolean; code: string }>).every((x) => !x.ok && x.code === 'ERR_NOT_CUSTODIAN'));
  });

  it('finishes a batch on the main thread when its signing worker cannot start, and warns on stderr', async function () {
    ok('devices', 'provision', '--store', acme, '--ca', 'acme-issuing', '--generate', '4', '--lot', 'L3', '--party', 'factory', '--serial-pattern', 'W{seq:6}');
    const serials = ['W000001', 'W000002', 'W000003', 'W000004'];
    // Preloaded in every thread: it lets the main thread be and kills the signing worker as it starts.
    const preload = join(tmp, 'no-workers.cjs');
    writeFileSync(preload, "if (!require('node:worker_threads').isMainThread) throw new Error('no worker threads here');\n");
    const r = cli(['devices', 'handoff', '--store', acme, '--lot', 'L3', '--party', 'factory', '--to', join(tmp, 'integrator.pem')], {
      CUSTODY_THREADS: '1',
      NODE_OPTIONS: `--require ${preload}`,
    });
    assert.equal(r.status, 0, r.stderr);
    for (const s of serials) assert.match(r.stdout, new RegExp(`^${s}  handed from "factory" to "[^"]+" \\(attestation 1\\)$`, 'm'));
    // oclif folds a long warning over lines that start with its marker; read them as one text.
    const text = r.stderr.replace(/\n\s*›?\s*/g, ' ').replace(/\s+/g, ' ');
    assert.equal(text.match(/Warning: a signing worker failed/g)?.length, 1, r.stderr);
    assert.match(text, /Warning: a signing worker failed \([^)]*no worker threads here[^)]*\); the main thread signed the devices the workers had not/);
    await assertHandedOnce(serials);
  });
});
