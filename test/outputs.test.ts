/**
 * Nothing lost, nothing half-done (issue 20), with the built CLI: a command whose output cannot be written
 * records nothing and leaves the store and the output folder as they were; an output the OS refuses is an
 * ERR_IO_* error naming the path (exit 5), never ERR_INTERNAL. The unwritable places work as root too: a path
 * below a regular file, a missing folder, a file already there.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON, openssl, snapshot, type CLIRun } from './e2e-helpers.js';

const PASS = 'outputs test passphrase';

describe('outputs before commits (issue 20, built CLI)', function () {
  this.timeout(240_000);
  let tmp: string;
  let store: string;
  let work: string;
  // agent commands run on the device and take no store.
  const cli = (...args: string[]): CLIRun =>
    custodyJSON([...args, ...(args[0] === 'agent' ? [] : ['--store', store]), '--json'], { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(...args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  /** The run failed with `code` and exit `exit`, naming `path`, and left the store and `work` as they were. */
  const refused = (r: CLIRun, code: string, exit: number, path: string, before: { store: Record<string, string>; work: Record<string, string> }) => {
    assert.equal(r.json?.error?.code, code, `${r.stdout}${r.stderr}`);
    assert.equal(r.status, exit);
    assert.ok((r.json.error.message as string).includes(path), r.json.error.message);
    assert.deepEqual(snapshot(store), before.store);
    assert.deepEqual(snapshot(work), before.work);
  };
  const state = () => ({ store: snapshot(store), work: snapshot(work) });

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-outputs-e2e-'));
    store = join(tmp, 'store');
    work = join(tmp, 'work');
    mkdirSync(work);
    writeFileSync(join(work, 'file.txt'), 'not a folder\n');
    ok('init');
    ok('ca', 'create', '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', '--name', 'factory', '--ca', 'acme-root', '--organization', 'Acme');
    ok('devices', 'provision', '--ca', 'acme-issuing', '--generate', '1', '--serial-pattern', 'BASE{seq:3}', '--out', join(tmp, 'base'));
  });

  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('devices provision', function () {
    it('--generate into a folder below a regular file: exit 5, ERR_IO_NO_FOLDER, nothing recorded, and the re-run elsewhere succeeds', function () {
      const before = state();
      const out = join(work, 'file.txt', 'sub');
      refused(
        cli('devices', 'provision', '--ca', 'acme-issuing', '--generate', '3', '--serial-pattern', 'RO{seq:3}', '--out', out),
        'ERR_IO_NO_FOLDER',
        5,
        out,
        before,
      );
      const r = ok('devices', 'provision', '--ca', 'acme-issuing', '--generate', '3', '--serial-pattern', 'RO{seq:3}', '--out', join(tmp, 'ro-retry'));
      assert.deepEqual(
        r.json.data.devices.map((d: { serial: string }) => d.serial),
        ['RO001', 'RO002', 'RO003'],
      );
      assert.deepEqual(readdirSync(join(tmp, 'ro-retry')).sort(), ['RO001.key.pem', 'RO001.pem', 'RO002.key.pem', 'RO002.pem', 'RO003.key.pem', 'RO003.pem']);
    });

    it('a refused run leaves no folder it created: the folders are made, the device file name is too long for the OS', function () {
      const before = state();
      // A folder path just short of PATH_MAX: its folders can be made, a file in it cannot (ENAMETOOLONG, as root too).
      let out = join(work, 'new');
      while (out.length < 4040 - 201) out = join(out, 'd'.repeat(200));
      out = join(out, 'e'.repeat(4040 - out.length - 1));
      const serial = `LONG${'X'.repeat(33)}{seq:3}`;
      const r = cli('devices', 'provision', '--ca', 'acme-issuing', '--generate', '2', '--serial-pattern', serial, '--out', out);
      refused(r, 'ERR_IO_WRITE', 5, out, before);
      assert.equal(existsSync(join(work, 'new')), false);
    });

    it('a file already in the way, in a folder that exists: exit 5, ERR_IO_EXISTS naming it, nothing recorded', function () {
      mkdirSync(join(work, 'taken'));
      writeFileSync(join(work, 'taken', 'TK002.pem'), 'someone else\n');
      const before = state();
      const out = join(work, 'taken');
      refused(
        cli('devices', 'provision', '--ca', 'acme-issuing', '--generate', '3', '--serial-pattern', 'TK{seq:3}', '--out', out),
        'ERR_IO_EXISTS',
        5,
        join(out, 'TK002.pem'),
        before,
      );
    });

    it('an existing certificate file without --force: exit 5, ERR_IO_EXISTS; with --force the files are replaced', function () {
      mkdirSync(join(work, 'force'));
      writeFileSync(join(work, 'force', 'FO001.pem'), 'old\n');
      const before = state();
      refused(
        cli('devices', 'provision', '--ca', 'acme-issuing', '--generate', '2', '--serial-pattern', 'FO{seq:3}', '--out', join(work, 'force')),
        'ERR_IO_EXISTS',
        5,
        'FO001.pem',
        before,
      );
      ok('devices', 'provision', '--ca', 'acme-issuing', '--generate', '2', '--serial-pattern', 'FO{seq:3}', '--out', join(work, 'force'), '--force');
      assert.match(readFileSync(join(work, 'force', 'FO001.pem'), 'utf8'), /BEGIN CERTIFICATE/);
      assert.deepEqual(readdirSync(join(work, 'force')).sort(), ['FO001.key.pem', 'FO001.pem', 'FO002.key.pem', 'FO002.pem']);
    });

    it('--csr into a folder below a regular file: exit 5, nothing issued, and the same CSR is issued on the re-run', function () {
      const csrDir = join(tmp, 'csr');
      mkdirSync(csrDir);
      openssl([
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(csrDir, 'k.pem'),
        '-subj',
        '/O=Acme/serialNumber=CSR001',
        '-out',
        join(csrDir, 'CSR001.csr'),
      ]);
      const before = state();
      const out = join(work, 'file.txt', 'issued');
      refused(cli('devices', 'provision', '--ca', 'acme-issuing', '--csr', join(csrDir, 'CSR001.csr'), '--out', out), 'ERR_IO_NO_FOLDER', 5, out, before);
      ok('devices', 'provision', '--ca', 'acme-issuing', '--csr', join(csrDir, 'CSR001.csr'), '--out', join(tmp, 'csr-issued'));
      assert.deepEqual(readdirSync(join(tmp, 'csr-issued')), ['CSR001.pem']);
    });
  });

  describe('ca crl', function () {
    it('a run that cannot write its CRL uses up no CRL number: the next CRL is number 1', function () {
      const before = state();
      const out = join(work, 'file.txt', 'issuing.crl');
      refused(cli('ca', 'crl', '--ca', 'acme-issuing', '--out', out), 'ERR_IO_NO_FOLDER', 5, out, before);
      const r = ok('ca', 'crl', '--ca', 'acme-issuing', '--out', join(tmp, 'issuing.crl'));
      assert.equal(r.json.data.crlNumber, 1);
      assert.match(openssl(['crl', '-inform', 'DER', '-in', join(tmp, 'issuing.crl'), '-noout', '-text']), /X509v3 CRL Number:\s*\n\s*1\n/);
    });
  });

  describe('recipients are checked', function () {
    let caPem: string;
    let idevidPem: string;

    before(function () {
      caPem = join(tmp, 'acme-root.pem');
      writeFileSync(caPem, JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')).cas['acme-root'].certificate);
      idevidPem = join(tmp, 'base', 'BASE001.pem');
    });

    const cases: Array<[string, () => string[], () => string, RegExp]> = [
      [
        'devices handoff --to a CA certificate',
        () => ['devices', 'handoff', '--serial', 'BASE001', '--party', 'factory', '--to', caPem],
        () => caPem,
        /CA certificate/,
      ],
      [
        "devices handoff --to another device's IDevID",
        () => ['devices', 'handoff', '--serial', 'BASE001', '--party', 'factory', '--to', idevidPem],
        () => idevidPem,
        /device identity/,
      ],
      [
        'devices provision --to a CA certificate',
        () => [
          'devices',
          'provision',
          '--ca',
          'acme-issuing',
          '--generate',
          '1',
          '--serial-pattern',
          'TOCA{seq:3}',
          '--to',
          caPem,
          '--out',
          join(work, 'toca'),
        ],
        () => caPem,
        /CA certificate/,
      ],
      ['parties import of a CA certificate', () => ['parties', 'import', '--name', 'root-as-party', '--cert', caPem], () => caPem, /CA certificate/],
      [
        "parties import of a device's IDevID",
        () => ['parties', 'import', '--name', 'device-as-party', '--cert', idevidPem],
        () => idevidPem,
        /device identity/,
      ],
    ];
    for (const [name, args, path, reason] of cases) {
      it(`${name}: exit 3, ERR_RECIPIENT_NOT_PARTY with the reason, nothing signed or recorded`, function () {
        const before = state();
        const r = cli(...args());
        refused(r, 'ERR_RECIPIENT_NOT_PARTY', 3, path(), before);
        assert.match(r.json.error.message, reason);
      });
    }

    it('a party certificate is still accepted as --to', function () {
      const partyPem = join(tmp, 'factory.pem');
      writeFileSync(partyPem, JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')).parties.factory.certificate);
      ok('parties', 'import', '--name', 'factory-again', '--cert', partyPem);
      ok('devices', 'handoff', '--serial', 'BASE001', '--party', 'factory', '--to', partyPem);
    });
  });

  describe('I/O errors are errors, not internals', function () {
    let challenge: string;

    before(function () {
      challenge = join(tmp, 'challenge.json');
      ok('devices', 'challenge', '--serial', 'BASE001', '--out', challenge);
    });

    const cases: Array<[string, () => string[], string, () => string]> = [
      [
        'devices challenge, existing file',
        () => ['devices', 'challenge', '--serial', 'BASE001', '--out', join(work, 'file.txt')],
        'ERR_IO_EXISTS',
        () => join(work, 'file.txt'),
      ],
      [
        'devices challenge, missing folder',
        () => ['devices', 'challenge', '--serial', 'BASE001', '--out', join(work, 'missing', 'c.json')],
        'ERR_IO_NO_FOLDER',
        () => join(work, 'missing', 'c.json'),
      ],
      [
        'devices export, missing folder',
        () => ['devices', 'export', '--serial', 'BASE001', '--out', join(work, 'missing', 'b.json')],
        'ERR_IO_NO_FOLDER',
        () => join(work, 'missing', 'b.json'),
      ],
      [
        'devices export, folder below a file',
        () => ['devices', 'export', '--serial', 'BASE001', '--out', join(work, 'file.txt', 'bundles') + '/'],
        'ERR_IO_NO_FOLDER',
        () => join(work, 'file.txt', 'bundles'),
      ],
      [
        'log checkpoint --out, missing folder',
        () => ['log', 'checkpoint', '--no-encrypt', '--insecure', '--out', join(work, 'missing', 'cp.txt')],
        'ERR_IO_NO_FOLDER',
        () => join(work, 'missing', 'cp.txt'),
      ],
      ['log checkpoint --out, a folder', () => ['log', 'checkpoint', '--no-encrypt', '--insecure', '--out', work], 'ERR_IO_EXISTS', () => work],
      [
        'log init --pub, missing folder',
        () => ['log', 'init', '--no-encrypt', '--insecure', '--pub', join(work, 'missing', 'log.pub')],
        'ERR_IO_NO_FOLDER',
        () => join(work, 'missing', 'log.pub'),
      ],
      [
        'devices activate --ldevid-out, missing folder',
        () => [
          'devices',
          'activate',
          '--serial',
          'BASE001',
          '--party',
          'factory',
          '--trust',
          join(tmp, 'acme-root.pem'),
          '--ldevid-ca',
          'acme-issuing',
          '--ldevid-csr',
          join(tmp, 'csr', 'CSR001.csr'),
          '--ldevid-out',
          join(work, 'missing', 'l.pem'),
        ],
        'ERR_IO_NO_FOLDER',
        () => join(work, 'missing', 'l.pem'),
      ],
      [
        'agent respond, existing file',
        () => ['agent', 'respond', '--key', join(tmp, 'base', 'BASE001.key.pem'), '--challenge', challenge, '--out', join(work, 'file.txt')],
        'ERR_IO_EXISTS',
        () => join(work, 'file.txt'),
      ],
      [
        'agent respond, missing folder',
        () => ['agent', 'respond', '--key', join(tmp, 'base', 'BASE001.key.pem'), '--challenge', challenge, '--out', join(work, 'missing', 'r.json')],
        'ERR_IO_NO_FOLDER',
        () => join(work, 'missing', 'r.json'),
      ],
    ];
    for (const [name, args, code, path] of cases) {
      it(`${name}: exit 5, ${code} naming the path, no ERR_INTERNAL, nothing changed`, function () {
        const before = state();
        const r = cli(...args());
        assert.doesNotMatch(r.stdout + r.stderr, /ERR_INTERNAL/);
        refused(r, code, 5, path(), before);
      });
    }

    it('agent respond --force replaces the file', function () {
      const out = join(tmp, 'response.json');
      writeFileSync(out, 'old\n');
      ok('agent', 'respond', '--key', join(tmp, 'base', 'BASE001.key.pem'), '--challenge', challenge, '--out', out, '--force');
      assert.notEqual(readFileSync(out, 'utf8'), 'old\n');
    });
  });
});
