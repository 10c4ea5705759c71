/**
 * Every command of issue 2 through oclif (`@oclif/test` runCommand, in process): a happy path and a failure
 * each, asserting the exit code DESIGN.md assigns and the error code in the one-line message.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '@oclif/test';
import { createCSR, encodePEM } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEMPLATES = fileURLToPath(new URL('../../../certs-templates/', import.meta.url));
const PASS = 'test passphrase';
const provider = new NodeCryptoProvider();

type Result<T = unknown> = Awaited<ReturnType<typeof runCommand<T>>>;

/** Runs `custody <args>` in process. */
const run = <T = unknown>(args: string[]) => runCommand<T>(args, { root: ROOT });

/** The exit code of a run: 0 when it returned, else what the command exited with. */
const exitOf = (r: Result) => (r.error ? (r.error.oclif?.exit ?? -1) : 0);

function assertFailure(r: Result, exit: number, code: string, file?: string): void {
  assert.equal(exitOf(r), exit, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
  assert.ok(lines[0]!.includes(`[${code}]`), `${lines[0]} names ${code}`);
  if (file !== undefined) assert.ok(lines[0]!.includes(file), `${lines[0]} names ${file}`);
}

async function csrFile(dir: string, serial: string): Promise<string> {
  const keys = await provider.generateKeyPair('P-256');
  const file = join(dir, `${serial}.csr`);
  writeFileSync(
    file,
    encodePEM(
      await createCSR(
        [
          ['O', 'Acme'],
          ['serialNumber', serial],
        ],
        keys.privateKey,
        provider,
      ),
      'CERTIFICATE REQUEST',
    ),
  );
  return file;
}

describe('CLI commands (runCommand)', function () {
  this.timeout(60_000);
  let tmp: string;
  let store: string;
  let savedPass: string | undefined;

  before(async function () {
    savedPass = process.env.CUSTODY_PASSPHRASE;
    process.env.CUSTODY_PASSPHRASE = PASS;
    tmp = mkdtempSync(join(tmpdir(), 'custody-commands-'));
    store = join(tmp, 'store');
    assert.equal(exitOf(await run(['init', '--store', store])), 0);
    for (const args of [
      ['ca', 'create', '--name', 'root', '--organization', 'Acme'],
      ['ca', 'create', '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme'],
      ['parties', 'create', '--name', 'factory', '--ca', 'root', '--organization', 'Acme'],
    ]) {
      const r = await run([...args, '--store', store]);
      assert.equal(exitOf(r), 0, r.stderr);
    }
  });
  after(function () {
    if (savedPass === undefined) delete process.env.CUSTODY_PASSPHRASE;
    else process.env.CUSTODY_PASSPHRASE = savedPass;
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('init', function () {
    it('creates a store and returns its location', async function () {
      const dir = join(tmp, 'init-ok');
      const r = await run<{ store: string }>(['init', '--store', dir]);
      assert.equal(exitOf(r), 0, r.stderr);
      assert.equal(r.result?.store, dir);
      assert.match(r.stdout, /created store/);
      assert.ok(existsSync(join(dir, 'store.json')));
    });

    it('refuses a second init of the same folder with ERR_CONFLICT_STORE_EXISTS, exit 4', async function () {
      const dir = join(tmp, 'init-twice');
      assert.equal(exitOf(await run(['init', '--store', dir])), 0);
      const before = readFileSync(join(dir, 'store.json'));
      const r = await run(['init', '--store', dir]);
      assertFailure(r, 4, 'ERR_CONFLICT_STORE_EXISTS', dir);
      assert.deepEqual(readFileSync(join(dir, 'store.json')), before);
    });

    it('reports the error as JSON under --json', async function () {
      const r = await run(['init', '--store', store, '--json']);
      assert.equal(exitOf(r), 4);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(out), ['ok', 'command', 'error']);
      assert.equal(out.ok, false);
      assert.equal(out.command, 'init');
      assert.equal(out.error.code, 'ERR_CONFLICT_STORE_EXISTS');
      assert.equal(out.error.exit, 4);
      assert.equal(typeof out.error.message, 'string');
    });
  });

  describe('ca create', function () {
    it('creates a root CA and an issuing CA under it', async function () {
      const dir = join(tmp, 'ca-ok');
      await run(['init', '--store', dir]);
      const root = await run<{ name: string; certificatePem: string }>(['ca', 'create', '--store', dir, '--name', 'r', '--organization', 'Acme']);
      assert.equal(exitOf(root), 0, root.stderr);
      assert.equal(root.result?.name, 'r');
      assert.match(root.result!.certificatePem, /^-----BEGIN CERTIFICATE-----/);
      const issuing = await run(['ca', 'create', '--store', dir, '--name', 'i', '--issuer', 'r', '--organization', 'Acme']);
      assert.equal(exitOf(issuing), 0, issuing.stderr);
      assert.match(issuing.stdout, /created issuing-ca "i" under "r"/);
      const doc = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8'));
      assert.deepEqual(Object.keys(doc.cas).sort(), ['i', 'r']);
      // Key paths are relative to the store's key folder.
      assert.match(readFileSync(join(dir, 'keys', doc.cas.r.key.path), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    });

    it('refuses to create a CA without a passphrase with ERR_USAGE_PASSPHRASE, exit 2', async function () {
      delete process.env.CUSTODY_PASSPHRASE;
      try {
        const r = await run(['ca', 'create', '--store', store, '--name', 'nopass', '--organization', 'Acme']);
        assertFailure(r, 2, 'ERR_USAGE_PASSPHRASE');
      } finally {
        process.env.CUSTODY_PASSPHRASE = PASS;
      }
    });

    it('refuses a name already used with ERR_CONFLICT_NAME, exit 4', async function () {
      const r = await run(['ca', 'create', '--store', store, '--name', 'factory', '--organization', 'Acme']);
      assertFailure(r, 4, 'ERR_CONFLICT_NAME');
    });

    it('refuses an unknown issuer with ERR_USAGE_UNKNOWN_CA, exit 2', async function () {
      const r = await run(['ca', 'create', '--store', store, '--name', 'orphan', '--issuer', 'nobody', '--organization', 'Acme']);
      assertFailure(r, 2, 'ERR_USAGE_UNKNOWN_CA');
    });

    it('refuses a missing required flag, exit 2', async function () {
      const r = await run(['ca', 'create', '--store', store, '--name', 'x']);
      assert.equal(exitOf(r), 2);
    });

    // Regression (fixed): BaseCommand.catch keeps only the first line of an oclif CLIError (`err.message.split('\n')[0]`). oclif's
    // flag validation errors are multi-line ("The following error occurred:\n  Missing required flag
    // organization\n..."), so the user is told nothing but the heading.
    // Failing assertion: `assert.match(r.stderr, /organization/)` -> actual
    // "custody: The following error occurred: [ERR_USAGE]".
    // Fix: join the reason lines of a FailedFlagValidationError (e.g. its `failed[].reason`) into the one line.
    it('names the missing required flag in the one-line usage error', async function () {
      const r = await run(['ca', 'create', '--store', store, '--name', 'x']);
      assert.equal(exitOf(r), 2);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, /organization/);
    });
  });

  describe('parties create', function () {
    it("creates a party's key and certificate under a CA", async function () {
      const r = await run<{ name: string; certificatePem: string; spkiSha256: string }>([
        'parties',
        'create',
        '--store',
        store,
        '--name',
        'integrator',
        '--ca',
        'root',
        '--organization',
        'Northwind',
      ]);
      assert.equal(exitOf(r), 0, r.stderr);
      assert.equal(r.result?.name, 'integrator');
      assert.match(r.result!.spkiSha256, /^[0-9a-f]{64}$/);
      assert.match(r.result!.certificatePem, /^-----BEGIN CERTIFICATE-----/);
    });

    it('refuses an unknown CA with ERR_USAGE_UNKNOWN_CA, exit 2', async function () {
      const r = await run(['parties', 'create', '--store', store, '--name', 'lost', '--ca', 'no-such-ca', '--organization', 'Acme']);
      assertFailure(r, 2, 'ERR_USAGE_UNKNOWN_CA');
      const doc = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8'));
      assert.equal(doc.parties.lost, undefined);
      assert.ok(!existsSync(join(store, 'keys', 'lost.key.pem')));
    });
  });

  describe('templates list', function () {
    it('lists the six shipped templates', async function () {
      const r = await run<{ templates: Array<{ name: string; kind: string }> }>(['templates', 'list']);
      assert.equal(exitOf(r), 0, r.stderr);
      assert.deepEqual(
        r.result!.templates.map((t) => t.name),
        ['code-signer', 'firmware-signer', 'idevid', 'issuing-ca', 'ldevid', 'party', 'root-ca'],
      );
      for (const name of ['idevid', 'root-ca', 'issuing-ca']) assert.match(r.stdout, new RegExp(`^${name}\\s`, 'm'));
    });

    it('names the file, line and field of an unknown template field: ERR_TEMPLATE_INVALID, exit 3', async function () {
      const dir = join(tmp, 'bad-templates');
      cpSync(TEMPLATES, dir, { recursive: true });
      const file = join(dir, 'idevid.yaml');
      writeFileSync(file, readFileSync(file, 'utf8') + 'favouriteColour: blue\n');
      const line = readFileSync(file, 'utf8').split('\n').indexOf('favouriteColour: blue') + 1;
      const r = await run(['templates', 'list', '--templates', dir]);
      assertFailure(r, 3, 'ERR_TEMPLATE_INVALID', `${file}:${line}`);
      assert.match(r.stderr, /favouriteColour/);
    });
  });

  describe('certs inspect', function () {
    it('prints a certificate in words', async function () {
      const doc = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8'));
      const file = join(tmp, 'issuing.pem');
      writeFileSync(file, doc.cas.issuing.certificate);
      const r = await run(['certs', 'inspect', file]);
      assert.equal(exitOf(r), 0, r.stderr);
      assert.match(r.stdout, /Subject:\s+O=Acme, CN=issuing/);
      assert.match(r.stdout, /Issuer:\s+O=Acme, CN=root/);
      assert.match(r.stdout, /SHA-256:\s+[0-9a-f]{64}/);
    });

    it('refuses a file that is not a certificate, exit 3, naming the file', async function () {
      const file = join(tmp, 'garbage.pem');
      writeFileSync(file, Buffer.from('this is not a certificate at all\x00\x01\x02'));
      const r = await run(['certs', 'inspect', file]);
      assert.equal(exitOf(r), 3, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.ok(r.stderr.includes(file), r.stderr);
      assert.match(r.stderr, /\[ERR_[A-Z_]+\]/);
    });

    it('refuses a missing file with ERR_INPUT_READ, exit 3', async function () {
      const r = await run(['certs', 'inspect', join(tmp, 'missing.pem')]);
      assertFailure(r, 3, 'ERR_INPUT_READ', 'missing.pem');
    });
  });

  describe('devices provision', function () {
    /** True while the --stdin bug below keeps every provisioning from running. */

    // Regression (fixed): e7cb661 ("station mode, devices provision --stdin") added `stdin` (boolean, default false) to the
    // exactlyOne group of --csr and --generate. oclif's validateExactlyOneAcrossFlags counts every flag whose
    // parsed value is not undefined, and so does the lean launcher's copy of the check (fast/launch.ts), so a
    // false --stdin counts as given: every `devices provision --csr F` or `--generate N` exits 2 with
    // "custody: The following error occurred: [ERR_USAGE]" (through bin/run.js and through oclif alike).
    // Failing assertion: `assert.equal(exitOf(r), 2, ...)` -> 2 with stderr "custody: The following error
    // occurred: [ERR_USAGE]" (expected the store error, exit 5, ERR_STORE_MISSING).
    // Fix: drop exactlyOne from PROVISION_FLAGS (runProvision already refuses anything but exactly one of
    // --csr, --generate, --stdin with ERR_USAGE_FLAGS), or leave --stdin undefined when absent.
    it('accepts --generate alone (a false --stdin is not "given")', async function () {
      const before = process.env.CUSTODY_DEVICE_PASSPHRASE;
      process.env.CUSTODY_DEVICE_PASSPHRASE = 'device keys of this test';
      const r = await run(['devices', 'provision', '--store', join(tmp, 'no-store'), '--ca', 'x', '--generate', '1']).finally(() => {
        if (before === undefined) delete process.env.CUSTODY_DEVICE_PASSPHRASE;
        else process.env.CUSTODY_DEVICE_PASSPHRASE = before;
      });
      assert.equal(exitOf(r), 5, r.stderr);
      assert.match(r.stderr, /\[ERR_STORE_MISSING\]/);
    });

    describe('with provisioning running', function () {
      before(async function () {});

      it('issues an IDevID from a CSR and records it', async function () {
        const csr = await csrFile(tmp, 'CMD-1');
        const out = join(tmp, 'issued');
        const r = await run<{ ca: string; devices: Array<{ serial: string; certificate?: string; attested: boolean }> }>([
          'devices',
          'provision',
          '--store',
          store,
          '--ca',
          'issuing',
          '--party',
          'factory',
          '--csr',
          csr,
          '--out',
          out,
        ]);
        assert.equal(exitOf(r), 0, r.stderr);
        assert.equal(r.result?.ca, 'issuing');
        assert.deepEqual(
          r.result!.devices.map((d) => [d.serial, d.attested]),
          [['CMD-1', true]],
        );
        assert.match(readFileSync(join(out, 'CMD-1.pem'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
        assert.match(r.stdout, /issued 1 device certificate/);
      });

      it('refuses an unknown CA with ERR_USAGE_UNKNOWN_CA, exit 2', async function () {
        const csr = await csrFile(tmp, 'CMD-2');
        const r = await run(['devices', 'provision', '--store', store, '--ca', 'nope', '--csr', csr]);
        assertFailure(r, 2, 'ERR_USAGE_UNKNOWN_CA');
      });

      it('refuses a serial issued before with ERR_DUPLICATE_SERIAL, exit 4', async function () {
        const dir = mkdtempSync(join(tmp, 'dup-'));
        const csr = await csrFile(dir, 'CMD-1');
        const r = await run(['devices', 'provision', '--store', store, '--ca', 'issuing', '--party', 'factory', '--csr', csr]);
        assertFailure(r, 4, 'ERR_DUPLICATE_SERIAL', csr);
      });

      it('refuses both --csr and --generate, exit 2', async function () {
        const csr = await csrFile(tmp, 'CMD-3');
        const r = await run(['devices', 'provision', '--store', store, '--ca', 'issuing', '--csr', csr, '--generate', '2']);
        assert.equal(exitOf(r), 2);
      });
    });
  });

  describe('devices export', function () {
    type Exported = { bundles: Array<{ serial: string; file: string }> };
    before(async function () {
      const csr = await csrFile(tmp, 'ONE-1');
      const r = await run([
        'devices',
        'provision',
        '--store',
        store,
        '--ca',
        'issuing',
        '--party',
        'factory',
        '--csr',
        csr,
        '--lot',
        'ONE',
        '--out',
        join(tmp, 'one'),
      ]);
      assert.equal(exitOf(r), 0, r.stderr);
    });

    it('a one-device --lot into a missing --out folder wrote one file named like the folder: now DIR/<serial>.json (and --list alike)', async function () {
      writeFileSync(join(tmp, 'one.list'), 'ONE-1\n');
      for (const [selection, dir] of [
        [['--lot', 'ONE'], join(tmp, 'lot-bundles')],
        [['--list', join(tmp, 'one.list')], join(tmp, 'list-bundles')],
      ] as const) {
        const r = await run<Exported>(['devices', 'export', '--store', store, ...selection, '--out', dir]);
        assert.equal(exitOf(r), 0, r.stderr);
        assert.ok(statSync(dir).isDirectory(), `${dir} is a folder`);
        assert.deepEqual(readdirSync(dir), ['ONE-1.json']);
        assert.deepEqual(
          r.result!.bundles.map((b) => b.file),
          [join(dir, 'ONE-1.json')],
        );
      }
    });

    it('one --serial into a missing path still writes that file', async function () {
      const file = join(tmp, 'ONE-1-bundle.json');
      const r = await run<Exported>(['devices', 'export', '--store', store, '--serial', 'ONE-1', '--out', file]);
      assert.equal(exitOf(r), 0, r.stderr);
      assert.ok(statSync(file).isFile());
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).attestations.length, 1);
    });
  });
});
