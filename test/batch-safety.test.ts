/**
 * Issue 20's scenarios for batches and keys, with the built CLI, each named after what broke: key hygiene (a plain
 * key written without a word, device keys under the CA's passphrase), re-runs (a finished provisioning or handoff
 * run again), Ctrl-C in a large batch, and LDevID requests not bound to the device being activated. Every refusal
 * asserts its code, its exit status, and that the store and the output folder are as before.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCSR, encodePEM } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { decodePrivateKey } from '@custody/store';
import { BIN, cliEnv, custodyJSON, E2E_DEVICE_PASSPHRASE, openssl, snapshot, type CLIRun } from './e2e-helpers.js';

const PASS = 'batch safety test passphrase';
const provider = new NodeCryptoProvider();

describe('batches, re-runs and keys (issue 20, built CLI)', function () {
  this.timeout(300_000);
  let tmp: string;
  let acme: string;
  let customer: string;
  let serials: string[];
  const cli = (args: string[], env: Record<string, string | undefined> = {}): CLIRun =>
    custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS, ...env }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  /** Failed with `code` and `exit`, and left every folder of `before` (taken before the run) exactly as it was. */
  const refused = (r: CLIRun, code: string, exit: number, before: Record<string, Record<string, string>>) => {
    assert.equal(r.json?.error?.code, code, `${r.stdout}${r.stderr}`);
    assert.equal(r.status, exit);
    for (const [dir, was] of Object.entries(before)) assert.deepEqual(existsSync(dir) ? snapshot(dir) : {}, was, `${dir} changed`);
  };
  const state = (...dirs: string[]) => Object.fromEntries(dirs.map((d) => [d, existsSync(d) ? snapshot(d) : {}]));
  const docCert = (store: string, kind: 'cas' | 'parties', name: string, file: string): string => {
    writeFileSync(file, JSON.parse(readFileSync(join(store, 'store.json'), 'utf8'))[kind][name].certificate);
    return file;
  };
  const trust = () => ['--trust', join(tmp, 'acme-root.pem'), '--trust', join(tmp, 'customer-root.pem')];
  const deviceKey = (serial: string): PrivateKeyHandle =>
    decodePrivateKey(readFileSync(join(tmp, 'issued', `${serial}.key.pem`), 'utf8'), E2E_DEVICE_PASSPHRASE, serial);

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-batch-e2e-'));
    acme = join(tmp, 'acme');
    customer = join(tmp, 'customer');
    ok('init', '--store', acme);
    ok('ca', 'create', '--store', acme, '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', '--store', acme, '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', '--store', acme, '--name', 'factory', '--ca', 'acme-root', '--organization', 'Acme');
    ok('init', '--store', customer);
    ok('ca', 'create', '--store', customer, '--name', 'customer-root', '--organization', 'Fabrikam');
    ok('parties', 'create', '--store', customer, '--name', 'receiving', '--ca', 'customer-root', '--organization', 'Fabrikam');
    docCert(acme, 'cas', 'acme-root', join(tmp, 'acme-root.pem'));
    docCert(customer, 'cas', 'customer-root', join(tmp, 'customer-root.pem'));
    docCert(customer, 'parties', 'receiving', join(tmp, 'receiving.pem'));
    const issued = ok(
      'devices',
      'provision',
      '--store',
      acme,
      '--ca',
      'acme-issuing',
      '--generate',
      '4',
      '--lot',
      'L1',
      '--party',
      'factory',
      '--to',
      join(tmp, 'receiving.pem'),
      '--out',
      join(tmp, 'issued'),
      '--json',
    ).json.data;
    serials = issued.devices.map((d: { serial: string }) => d.serial);
    ok('devices', 'export', '--store', acme, ...serials.flatMap((s) => ['--serial', s]), '--out', join(tmp, 'bundles') + '/');
    ok('devices', 'import', '--store', customer, join(tmp, 'bundles'), ...trust());
  });

  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('key hygiene', function () {
    it('--no-encrypt alone wrote a plain CA key without a word: now exit 2, ERR_USAGE_INSECURE, nothing written', function () {
      {
        const before = state(acme);
        refused(cli(['ca', 'create', '--store', acme, '--name', 'plain', '--organization', 'Acme', '--no-encrypt', '--json']), 'ERR_USAGE_INSECURE', 2, before);
      }
    });

    it('--no-encrypt --insecure writes the plain key and warns on stderr', function () {
      const r = cli(['ca', 'create', '--store', acme, '--name', 'plain', '--organization', 'Acme', '--no-encrypt', '--insecure']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /warning: private keys are written unencrypted/);
      assert.match(readFileSync(join(acme, 'keys', 'plain.key.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    });

    it('generated device keys were encrypted under the CA passphrase: now without a device passphrase, exit 2, ERR_USAGE_DEVICE_PASSPHRASE, nothing written', function () {
      const out = join(tmp, 'no-device-pass');
      const before = state(acme, out);
      const r = cli(
        ['devices', 'provision', '--store', acme, '--ca', 'acme-issuing', '--generate', '2', '--serial-pattern', 'NP{seq:3}', '--out', out, '--json'],
        { CUSTODY_DEVICE_PASSPHRASE: undefined },
      );
      refused(r, 'ERR_USAGE_DEVICE_PASSPHRASE', 2, before);
      assert.equal(existsSync(out), false);
    });

    it("a device passphrase equal to the CA's is refused: exit 2, ERR_USAGE_DEVICE_PASSPHRASE, nothing written", function () {
      const out = join(tmp, 'same-pass');
      const before = state(acme, out);
      const r = cli(
        ['devices', 'provision', '--store', acme, '--ca', 'acme-issuing', '--generate', '2', '--serial-pattern', 'SP{seq:3}', '--out', out, '--json'],
        { CUSTODY_DEVICE_PASSPHRASE: PASS },
      );
      refused(r, 'ERR_USAGE_DEVICE_PASSPHRASE', 2, before);
    });

    it('a generated key opens with the device passphrase (--device-passphrase-file), not the CA passphrase, in openssl', function () {
      const out = join(tmp, 'device-pass');
      const file = join(tmp, 'device-pass.txt');
      writeFileSync(file, 'line secret\n');
      const r = cli(
        [
          'devices',
          'provision',
          '--store',
          acme,
          '--ca',
          'acme-issuing',
          '--generate',
          '1',
          '--serial-pattern',
          'DP{seq:3}',
          '--out',
          out,
          '--device-passphrase-file',
          file,
          '--json',
        ],
        { CUSTODY_DEVICE_PASSPHRASE: undefined },
      );
      assert.equal(r.status, 0, r.stderr + r.stdout);
      const key = join(out, 'DP001.key.pem');
      assert.equal(
        openssl(['pkey', '-in', key, '-passin', 'pass:line secret', '-pubout']),
        openssl(['x509', '-in', join(out, 'DP001.pem'), '-noout', '-pubkey']),
      );
      assert.throws(() => openssl(['pkey', '-in', key, '-passin', `pass:${PASS}`, '-noout']));
      assert.match(openssl(['asn1parse', '-in', key]), /hmacWithSHA256/);
    });
  });

  describe('re-runs', function () {
    it('re-running a finished provisioning command failed with ERR_DUPLICATE_SERIAL: now exit 0, every device already issued, store and folder unchanged', function () {
      const out = join(tmp, 'issued');
      const before = state(acme, out);
      const r = cli([
        'devices',
        'provision',
        '--store',
        acme,
        '--ca',
        'acme-issuing',
        '--generate',
        '4',
        '--lot',
        'L1',
        '--party',
        'factory',
        '--to',
        join(tmp, 'receiving.pem'),
        '--out',
        out,
        '--json',
      ]);
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.deepEqual(r.json.data.devices, []);
      assert.deepEqual(
        r.json.data.alreadyIssued.map((d: { serial: string }) => d.serial),
        serials,
      );
      assert.deepEqual(state(acme, out), before);
      const text = cli([
        'devices',
        'provision',
        '--store',
        acme,
        '--ca',
        'acme-issuing',
        '--generate',
        '4',
        '--lot',
        'L1',
        '--party',
        'factory',
        '--to',
        join(tmp, 'receiving.pem'),
        '--out',
        out,
      ]);
      assert.match(text.stdout, /4 already issued to the same key by an earlier run, skipped/);
    });

    it('re-running a finished lot handoff printed one refusal a device and exited 4: now exit 0, each device already held, store unchanged', function () {
      ok('parties', 'create', '--store', acme, '--name', 'dock', '--ca', 'acme-root', '--organization', 'Acme');
      ok(
        'devices',
        'provision',
        '--store',
        acme,
        '--ca',
        'acme-issuing',
        '--generate',
        '3',
        '--serial-pattern',
        'HO{seq:3}',
        '--lot',
        'L2',
        '--party',
        'factory',
        '--out',
        join(tmp, 'ho'),
      );
      ok('devices', 'handoff', '--store', acme, '--lot', 'L2', '--party', 'factory', '--to', 'dock');
      const before = state(acme);
      const r = cli(['devices', 'handoff', '--store', acme, '--lot', 'L2', '--party', 'factory', '--to', 'dock', '--json']);
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.deepEqual(
        r.json.data.results.map((x: { ok: boolean; already: boolean; seq: number }) => [x.ok, x.already, x.seq]),
        [
          [true, true, 1],
          [true, true, 1],
          [true, true, 1],
        ],
      );
      assert.deepEqual(state(acme), before);
    });

    it('Ctrl-C in a large batch exited 130 silently: now it stops at a chunk boundary, says what was recorded and how to resume, exits 130; the re-run finishes', async function () {
      const out = join(tmp, 'interrupted');
      const args = [
        BIN,
        'devices',
        'provision',
        '--store',
        acme,
        '--ca',
        'acme-issuing',
        '--generate',
        '5000',
        '--serial-pattern',
        'INT{seq:5}',
        '--party',
        'factory',
        '--out',
        out,
      ];
      const child = spawn(process.execPath, args, { env: cliEnv({ CUSTODY_PASSPHRASE: PASS }), cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // The first chunk's certificates are moved into place once it is recorded: then interrupt.
      const deadline = Date.now() + 120_000;
      while (!(existsSync(out) && readdirSync(out).some((f) => /^INT\d+\.pem$/.test(f)))) {
        assert.ok(Date.now() < deadline, `no chunk recorded in time: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      const m = /interrupted: (\d+) of 5000 recorded \(INT00001 to INT(\d+)\), with their files; run the same command again/.exec(stderr);
      assert.ok(m, stderr);
      const recorded = Number(m[1]);
      assert.ok(recorded < 5000 && recorded % 2048 === 0, `stopped at a chunk boundary: ${recorded}`);
      assert.equal(Number(m[2]), recorded);
      const files = readdirSync(out);
      assert.equal(files.length, 2 * recorded, 'a certificate and a key for each recorded device, nothing else');
      const again = cli([
        'devices',
        'provision',
        '--store',
        acme,
        '--ca',
        'acme-issuing',
        '--generate',
        '5000',
        '--serial-pattern',
        'INT{seq:5}',
        '--party',
        'factory',
        '--out',
        out,
        '--json',
      ]);
      assert.equal(again.status, 0, again.stderr + again.stdout);
      assert.equal(again.json.data.alreadyIssued.length, recorded);
      assert.equal(again.json.data.devices.length, 5000 - recorded);
      assert.equal(readdirSync(out).length, 10_000);
    });
  });

  describe('LDevID requests bound to the device', function () {
    const ldevidOut = () => join(tmp, 'ldevid.pem');
    const csrFor = async (name: string, subject: Array<[string, string]>, key: PrivateKeyHandle) => {
      const file = join(tmp, `${name}.csr`);
      writeFileSync(file, encodePEM(await createCSR(subject, key, provider), 'CERTIFICATE REQUEST'));
      return file;
    };
    const challengeAndRespond = (serial: string, name: string, ...more: string[]) => {
      ok('devices', 'challenge', '--store', customer, '--serial', serial, '--out', join(tmp, `${name}-c.json`));
      ok(
        'agent',
        'respond',
        '--key',
        join(tmp, 'issued', `${serial}.key.pem`),
        '--challenge',
        join(tmp, `${name}-c.json`),
        '--out',
        join(tmp, `${name}-r.json`),
        ...more,
      );
      return join(tmp, `${name}-r.json`);
    };
    const activate = (serial: string, csr: string, response: string | undefined, out = ldevidOut()) =>
      cli([
        'devices',
        'activate',
        '--store',
        customer,
        '--serial',
        serial,
        '--party',
        'receiving',
        ...trust(),
        ...(response ? ['--response', response] : []),
        '--ldevid-ca',
        'customer-root',
        '--ldevid-csr',
        csr,
        '--ldevid-out',
        out,
        '--json',
      ]);

    it('a request naming another device was certified with the serial rewritten: now exit 3, ERR_CSR_SERIAL, nothing recorded, no LDevID', async function () {
      const s = serials[0]!;
      const csr = await csrFor('other-serial', [['serialNumber', serials[1]!]], (await provider.generateKeyPair('P-256')).privateKey);
      const response = challengeAndRespond(s, 'other-serial', '--ldevid-csr', csr);
      {
        const before = state(customer);
        refused(activate(s, csr, response), 'ERR_CSR_SERIAL', 3, before);
      }
      assert.equal(existsSync(ldevidOut()), false);
    });

    it("a request with another device's key was certified: now exit 4, ERR_DUPLICATE_KEY, nothing recorded", async function () {
      const s = serials[0]!;
      const csr = await csrFor('other-key', [['serialNumber', s]], deviceKey(serials[1]!));
      const response = challengeAndRespond(s, 'other-key', '--ldevid-csr', csr);
      {
        const before = state(customer);
        refused(activate(s, csr, response), 'ERR_DUPLICATE_KEY', 4, before);
      }
      assert.equal(existsSync(ldevidOut()), false);
    });

    it("a request the device's proof of possession does not cover: exit 3, ERR_LDEVID_UNBOUND (no response, a response without it, one covering another request)", async function () {
      const s = serials[0]!;
      const csr = await csrFor('unbound', [['serialNumber', s]], (await provider.generateKeyPair('P-256')).privateKey);
      const other = await csrFor('unbound-other', [], (await provider.generateKeyPair('P-256')).privateKey);
      {
        const before = state(customer);
        refused(activate(s, csr, undefined), 'ERR_LDEVID_UNBOUND', 3, before);
      }
      {
        const response = challengeAndRespond(s, 'plain');
        const before = state(customer);
        refused(activate(s, csr, response), 'ERR_LDEVID_UNBOUND', 3, before);
      }
      {
        const response = challengeAndRespond(s, 'covers-other', '--ldevid-csr', other);
        const before = state(customer);
        refused(activate(s, csr, response), 'ERR_LDEVID_UNBOUND', 3, before);
      }
      assert.equal(existsSync(ldevidOut()), false);
    });

    let boundKey: PrivateKeyHandle;
    it('a request without a serial, covered by the proof of possession, gets an LDevID naming the device', async function () {
      const s = serials[0]!;
      boundKey = (await provider.generateKeyPair('P-256')).privateKey;
      const csr = await csrFor('bound', [['O', 'Device']], boundKey);
      const r = activate(s, csr, challengeAndRespond(s, 'bound', '--ldevid-csr', csr));
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(openssl(['x509', '-in', ldevidOut(), '-noout', '-subject']), new RegExp(`serialNumber *= *${s}`));
    });

    it("one key for two devices' LDevIDs was certified twice: now the second is exit 4, ERR_DUPLICATE_KEY, nothing recorded, no LDevID", async function () {
      const s = serials[1]!;
      const csr = await csrFor('second-ldevid', [['serialNumber', s]], boundKey);
      const response = challengeAndRespond(s, 'second-ldevid', '--ldevid-csr', csr);
      const out = join(tmp, 'second-ldevid.pem');
      const before = state(customer);
      const r = activate(s, csr, response, out);
      refused(r, 'ERR_DUPLICATE_KEY', 4, before);
      assert.match(r.json.error.message, new RegExp(`certified for device ${serials[0]}'s LDevID`));
      assert.equal(existsSync(out), false);
      // The device is not activated: with a key of its own it gets its LDevID.
      const own = await csrFor('own-ldevid', [['serialNumber', s]], (await provider.generateKeyPair('P-256')).privateKey);
      const ok2 = activate(s, own, challengeAndRespond(s, 'own-ldevid', '--ldevid-csr', own), out);
      assert.equal(ok2.status, 0, ok2.stdout + ok2.stderr);
    });

    it('an older response without an LDevID request still activates a device when no LDevID is asked for', function () {
      const s = serials[2]!;
      const response = challengeAndRespond(s, 'older');
      const r = cli(['devices', 'activate', '--store', customer, '--serial', s, '--party', 'receiving', ...trust(), '--response', response, '--json']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });
  });
});
