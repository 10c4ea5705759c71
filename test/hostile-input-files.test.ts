/**
 * Issue 17, fail closed against hostile parties: every input file is a regular file of bounded size, opened once
 * and read to its bound only, and JSON from outside is strict. Before, a FIFO named `x.json` in a bundle folder
 * hung `devices verify`, a symlink to /dev/zero read gigabytes, and a station request naming "csr" twice was
 * read as the last one. End to end through the built CLI, on the artifacts of `custody demo`.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCSR } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { BIN, cliEnv, custody, custodyJSON, freeStoreDir } from './e2e-helpers.js';

const PASS = 'hostile input passphrase';
const GiB = 1024 ** 3;

describe('hostile input files (built CLI)', function () {
  this.timeout(120_000);
  let tmp: string;
  let demo: string;
  let store: string;
  let trust: string[];

  /** Runs the CLI and says how long it took. */
  function timed(args: string[]): SpawnSyncReturns<string> & { ms: number } {
    const t0 = Date.now();
    const r = custody(args, { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
    return Object.assign(r, { ms: Date.now() - t0 });
  }

  /** Exit 3 within `ms`, one line on stderr naming `file` and ending in `[code]`. */
  function refusedFast(r: SpawnSyncReturns<string> & { ms: number }, code: string, file: string, ms = 15_000): void {
    assert.equal(r.error, undefined, 'finished before the 60 s kill');
    assert.equal(r.status, 3, `exit code; stderr: ${r.stderr}`);
    assert.ok(r.ms < ms, `took ${r.ms} ms`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
    assert.ok(lines[0]!.endsWith(`[${code}]`), `${lines[0]} ends with [${code}]`);
    assert.ok(lines[0]!.includes(file), `${lines[0]} names ${file}`);
  }

  /** A folder holding the demo's five bundles. */
  function bundleFolder(name: string): string {
    const dir = join(tmp, name);
    cpSync(join(demo, 'bundles'), dir, { recursive: true });
    return dir;
  }

  const verifyArgs = (bundle: string, more: string[] = []) => [
    'devices',
    'verify',
    '--bundle',
    bundle,
    ...trust.flatMap((t) => ['--trust', t]),
    ...more,
    '--store',
    join(tmp, 'no-store'),
  ];

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-e2e-hostile-'));
    demo = join(tmp, 'demo');
    const d = custody(['demo', '--out', demo], { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
    assert.equal(d.status, 0, d.stderr);
    trust = ['customer', 'integrator', 'manufacturer', 'reseller'].map((p) => join(demo, 'roots', `${p}.pem`));
    store = await freeStoreDir(tmp, 'store');
    for (const args of [
      ['init'],
      ['ca', 'create', '--name', 'root', '--organization', 'Acme'],
      ['ca', 'create', '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme'],
    ]) {
      const r = custody([...args, '--store', store], { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a FIFO named x.json in a bundle folder no longer hangs devices verify: it is refused by name, the other bundles get their verdicts', function () {
    const dir = bundleFolder('with-fifo');
    const fifo = join(dir, 'x.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const r = timed(verifyArgs(dir));
    assert.equal(r.error, undefined, 'finished before the 60 s kill');
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    assert.equal(r.status, 3, 'bad input among the bundles');
    const headers = r.stdout.split('\n').filter((l) => /^\S/.test(l));
    const accepted = (l: string) => /: ACCEPTED(;|$)/.test(l);
    assert.equal(headers.filter(accepted).length, 5, r.stdout);
    assert.deepEqual(
      headers.filter((l) => !accepted(l)),
      [`${fifo}: REJECTED (ERR_INPUT_NOT_FILE)`],
    );
    assert.match(r.stdout, /FAIL bundle file: .*x\.json: is a FIFO \(named pipe\), not a regular file \[ERR_INPUT_NOT_FILE\]/);

    const j = custodyJSON([...verifyArgs(dir), '--json'], { cwd: tmp });
    assert.equal(j.status, 3);
    const refused = j.json.data.results.filter((x: { ok: boolean }) => !x.ok);
    assert.deepEqual(
      refused.map((x: { file: string; code: string }) => [x.file, x.code]),
      [[fifo, 'ERR_INPUT_NOT_FILE']],
    );
  });

  it('devices import of a folder with a FIFO refuses the FIFO and imports the rest', async function () {
    const dir = bundleFolder('import-with-fifo');
    assert.equal(spawnSync('mkfifo', [join(dir, 'x.json')]).status, 0);
    const target = await freeStoreDir(tmp, 'import-store');
    assert.equal(custody(['init', '--store', target], { cwd: tmp }).status, 0);
    const r = timed(['devices', 'import', dir, ...trust.flatMap((t) => ['--trust', t]), '--store', target]);
    assert.equal(r.error, undefined);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /x\.json {2}REFUSED ERR_INPUT_NOT_FILE: .*is a FIFO/);
    assert.equal(r.stdout.split('\n').filter((l) => / added$/.test(l)).length, 5, r.stdout);
  });

  it('a symlink to /dev/zero as --bundle, --trust or --csr is refused at once instead of read for gigabytes', function () {
    const zero = join(tmp, 'zero.json');
    symlinkSync('/dev/zero', zero);
    const v = timed(verifyArgs(zero));
    assert.equal(v.status, 3);
    assert.ok(v.ms < 15_000, `took ${v.ms} ms`);
    assert.match(v.stdout, /zero\.json: REJECTED \(ERR_INPUT_NOT_FILE\)/);
    assert.match(v.stdout, /zero\.json: is a character device, not a regular file/);

    const zeroPem = join(tmp, 'zero.pem');
    symlinkSync('/dev/zero', zeroPem);
    refusedFast(timed(['devices', 'verify', '--bundle', join(demo, 'bundles'), '--trust', zeroPem]), 'ERR_INPUT_NOT_FILE', zeroPem);

    const zeroCSR = join(tmp, 'zero.csr');
    symlinkSync('/dev/zero', zeroCSR);
    refusedFast(
      timed(['devices', 'provision', '--ca', 'issuing', '--csr', zeroCSR, '--out', join(tmp, 'out-zero'), '--store', store]),
      'ERR_INPUT_NOT_FILE',
      zeroCSR,
    );
  });

  it('a FIFO given as --trust or --csr is refused without blocking on its open', function () {
    const fifo = join(tmp, 'anchor.pem');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    refusedFast(timed(['devices', 'verify', '--bundle', join(demo, 'bundles'), '--trust', fifo]), 'ERR_INPUT_NOT_FILE', fifo);
    refusedFast(
      timed(['devices', 'provision', '--ca', 'issuing', '--csr', fifo, '--out', join(tmp, 'out-fifo'), '--store', store]),
      'ERR_INPUT_NOT_FILE',
      fifo,
    );
  });

  it('an oversized (sparse) bundle, trust file or CRL is refused by its size, naming size and bound, without being read', function () {
    const big = join(bundleFolder('with-huge'), 'huge.json');
    writeFileSync(big, '');
    truncateSync(big, 2 * GiB);
    const v = timed(verifyArgs(big));
    assert.equal(v.status, 3);
    assert.ok(v.ms < 15_000, `took ${v.ms} ms`);
    assert.match(v.stdout, /huge\.json: is 2147483648 bytes, more than the 1048576 bytes a bundle may have \[ERR_INPUT_TOO_LARGE\]/);

    const bigPem = join(tmp, 'big.pem');
    writeFileSync(bigPem, readFileSync(trust[0]!));
    truncateSync(bigPem, GiB);
    refusedFast(timed(['devices', 'verify', '--bundle', join(demo, 'bundles'), '--trust', bigPem]), 'ERR_INPUT_TOO_LARGE', bigPem);

    const bigCRL = join(tmp, 'big.crl');
    writeFileSync(bigCRL, '');
    truncateSync(bigCRL, GiB);
    const c = timed(verifyArgs(join(demo, 'bundles'), ['--crl', bigCRL]));
    refusedFast(c, 'ERR_INPUT_TOO_LARGE', bigCRL);
    assert.match(c.stderr, /is 1073741824 bytes, more than the 67108864 bytes a CRL may have/);
  });

  it('a station request naming "csr" twice is refused, not read as the last one', async function () {
    const provider = new NodeCryptoProvider();
    const keys = await provider.generateKeyPair('P-256');
    const csr = Buffer.from(
      await createCSR(
        [
          ['O', 'Acme'],
          ['serialNumber', 'ST-1'],
        ],
        keys.privateKey,
        provider,
      ),
    ).toString('base64');
    const input = `{"id":1,"csr":"AAAA","csr":"${csr}"}\n{"id":2,"csr":"${csr}"}\n`;
    const r = spawnSync(process.execPath, [BIN, 'devices', 'provision', '--stdin', '--ca', 'issuing', '--out', join(tmp, 'out-station'), '--store', store], {
      input,
      encoding: 'utf8',
      env: cliEnv({ CUSTODY_PASSPHRASE: PASS }),
      cwd: tmp,
      timeout: 60_000,
    });
    const answers = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    assert.equal(answers.length, 2, `${r.stdout}${r.stderr}`);
    assert.equal(answers[0].ok, false);
    assert.equal(answers[0].error.code, 'ERR_STATION_REQUEST');
    assert.match(answers[0].error.message, /duplicate member name "csr"/);
    assert.equal(answers[1].ok, true, JSON.stringify(answers[1]));
  });
});
