/**
 * Secure updates end to end with the built CLI (issue 23): releases signed by a firmware signer under the
 * manufacturer's root, a withdrawal list, and the reference device agent refusing, each with its own code, a
 * rollback, a frozen (expired) manifest, a withdrawn release, another model's release, an image with one byte
 * changed or cut short, a manifest signed by a party key (no codeSigning), one under another root, and a state
 * file edited backwards; the state file never moves back, also when the agent is killed with SIGKILL mid-update.
 * Each rule's refusal names its file; a state path that is a link or a FIFO is refused; a device that took a
 * withdrawal list needs one; `firmware release` records nothing when --out cannot be written.
 * openssl cms -verify accepts the manifests the CLI writes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAttestationSigner } from '../packages/core/src/attestation/cms.js';
import { NodeCryptoProvider, nodePrivateKeyHandle } from '../packages/core/src/crypto/node-provider.js';
import { signReleaseManifest } from '../packages/core/src/release/release-manifest.js';
import { createReleaseStatement } from '../packages/core/src/release/release-statement.js';
import { decodePEM } from '../packages/core/src/x509/pem.js';
import { BIN, cliEnv, custodyJSON, openssl, type CLIRun } from './e2e-helpers.js';

const PASS = 'firmware e2e passphrase';
const ENV = { CUSTODY_PASSPHRASE: PASS, CUSTODY_TEST_ONLY_KDF_ITERATIONS: '1000' };
const provider = new NodeCryptoProvider();

describe('secure updates: firmware releases and agent update (CLI end to end)', function () {
  this.timeout(300_000);
  let tmp: string;
  let store: string;
  const f = (name: string) => join(tmp, name);
  const cli = (...args: string[]): CLIRun => custodyJSON([...args, '--json'], { env: ENV, cwd: tmp });
  const ok = (...args: string[]) => {
    const r = cli(...args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.json.data;
  };
  const release = (out: string, version: string, counter: number, opts: { model?: string; expires?: string; file?: string } = {}) =>
    ok(
      'firmware',
      'release',
      '--store',
      store,
      '--file',
      opts.file ?? f('image.bin'),
      '--version',
      version,
      '--security-counter',
      String(counter),
      '--model',
      opts.model ?? 'GW-100',
      '--expires',
      opts.expires ?? 'P30D',
      '--signer',
      'acme-fw',
      '--out',
      f(out),
    );
  const agent = (manifest: string, extra: string[] = [], state = 'state.json') =>
    cli('agent', 'update', '--manifest', f(manifest), '--image', f('image.bin'), '--trust', f('root.pem'), '--state', f(state), '--model', 'GW-100', ...extra);
  /** Runs the agent expecting `code` (exit 1 unless given), and checks the state file did not change. */
  const refused = (code: string, manifest: string, extra: string[] = [], exit = 1) => {
    const before = existsSync(f('state.json')) ? readFileSync(f('state.json')) : undefined;
    const r = agent(manifest, extra);
    assert.equal(r.json?.error?.code, code, r.stdout + r.stderr);
    assert.equal(r.status, exit);
    if (before) assert.deepEqual(readFileSync(f('state.json')), before, 'a refused update left the state file as it was');
    return r;
  };
  /** The refusal's one line names the file it is about. */
  const names = (r: CLIRun, file: string) => assert.ok(r.json.error.message.startsWith(`${f(file)}: `), r.json.error.message);
  const counter = (file = 'state.json') => JSON.parse(readFileSync(f(file), 'utf8')).counter as number;

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-firmware-e2e-'));
    store = f('acme');
    ok('init', '--store', store);
    ok('ca', 'create', '--store', store, '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', '--store', store, '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('ca', 'export', 'acme-root', '--store', store, '--out', f('root.pem'));
    ok('ca', 'export', 'acme-issuing', '--store', store, '--out', f('issuing.pem'));
    ok('parties', 'create', '--store', store, '--name', 'acme-factory', '--ca', 'acme-issuing', '--organization', 'Acme');
    ok('firmware', 'signer', 'create', '--store', store, '--name', 'acme-fw', '--ca', 'acme-issuing', '--organization', 'Acme');
    writeFileSync(f('image.bin'), randomBytes(1024 * 1024));
    release('r3.der', '1.3.0', 3);
    release('r5.der', '1.5.0', 5);
    release('short.der', '1.5.1', 5, { expires: 'PT2S' });
    release('gw200.der', '2.0.0', 1, { model: 'GW-200' });
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('openssl cms -verify accepts a release manifest with the root alone, and prints its statement', function () {
    const out = openssl(['cms', '-verify', '-inform', 'DER', '-binary', '-in', f('r5.der'), '-CAfile', f('root.pem'), '-purpose', 'any']);
    const statement = JSON.parse(out);
    assert.equal(statement.predicateType, 'https://custody.dev/release/v1');
    assert.equal(statement.predicate.securityCounter, 5);
    assert.deepEqual(statement.predicate.models, ['GW-100']);
  });

  it('records no release when --out cannot be written (a missing folder, an existing file without --force)', function () {
    const count = () => ok('firmware', 'list', '--store', store).releases.length;
    const before = count();
    const r3 = readFileSync(f('r3.der'));
    for (const [out, code] of [
      [f('no-such-folder/r9.der'), 'ERR_IO_NO_FOLDER'],
      [f('r3.der'), 'ERR_IO_EXISTS'],
    ] as const) {
      const r = cli(
        'firmware',
        'release',
        '--store',
        store,
        '--file',
        f('image.bin'),
        '--version',
        '9.0.0',
        '--security-counter',
        '9',
        '--model',
        'GW-100',
        '--expires',
        'P1D',
        '--signer',
        'acme-fw',
        '--out',
        out,
      );
      assert.equal(r.json?.error?.code, code, r.stdout + r.stderr);
      assert.equal(r.status, 5);
    }
    assert.equal(count(), before, 'nothing recorded');
    assert.deepEqual(readFileSync(f('r3.der')), r3);
  });

  it('refuses a missing state file unless told it is the first update, then accepts and raises the counter', function () {
    refused('ERR_UPDATE_STATE_MISSING', 'r3.der');
    assert.equal(existsSync(f('state.json')), false);
    const r = agent('r3.der', ['--create-state']);
    assert.equal(r.status, 0, r.stdout);
    assert.deepEqual([r.json.data.previousCounter, r.json.data.counter], [0, 3]);
    assert.equal(counter(), 3);
    const r5 = agent('r5.der');
    assert.equal(r5.status, 0, r5.stdout);
    assert.equal(counter(), 5);
  });

  it('refuses a rollback (a lower counter): ERR_RELEASE_ROLLBACK', function () {
    names(refused('ERR_RELEASE_ROLLBACK', 'r3.der'), 'r3.der');
  });

  it('refuses a manifest for another model: ERR_RELEASE_MODEL', function () {
    names(refused('ERR_RELEASE_MODEL', 'gw200.der'), 'gw200.der');
  });

  it('refuses an image with one byte changed (ERR_RELEASE_IMAGE_HASH) or cut short (ERR_RELEASE_IMAGE_LENGTH)', function () {
    const image = readFileSync(f('image.bin'));
    const changed = Buffer.from(image);
    changed[123_456] ^= 0x01;
    writeFileSync(f('changed.bin'), changed);
    writeFileSync(f('short.bin'), image.subarray(0, image.length - 1));
    for (const [file, code] of [
      ['changed.bin', 'ERR_RELEASE_IMAGE_HASH'],
      ['short.bin', 'ERR_RELEASE_IMAGE_LENGTH'],
    ] as const) {
      const before = readFileSync(f('state.json'));
      const r = cli(
        'agent',
        'update',
        '--manifest',
        f('r5.der'),
        '--image',
        f(file),
        '--trust',
        f('root.pem'),
        '--state',
        f('state.json'),
        '--model',
        'GW-100',
      );
      assert.equal(r.json?.error?.code, code, r.stdout);
      assert.equal(r.status, 1);
      names(r, file);
      assert.deepEqual(readFileSync(f('state.json')), before);
    }
  });

  it('refuses a manifest signed by a party key without codeSigning: ERR_RELEASE_SIGNER_EKU', async function () {
    const pem = readFileSync(join(store, 'keys', 'acme-factory.key.pem'), 'utf8');
    const key = nodePrivateKeyHandle(createPrivateKey({ key: pem, passphrase: PASS }));
    const doc = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8'));
    const certificate = decodePEM(doc.parties['acme-factory'].certificate, ['CERTIFICATE']);
    const signer = await createAttestationSigner({ certificate, key, provider, chain: [decodePEM(readFileSync(f('issuing.pem'), 'utf8'), ['CERTIFICATE'])] });
    const r5 = JSON.parse(openssl(['cms', '-verify', '-inform', 'DER', '-binary', '-in', f('r5.der'), '-CAfile', f('root.pem'), '-purpose', 'any']));
    const statement = createReleaseStatement({
      imageName: 'image.bin',
      imageSha256: r5.subject[0].digest.sha256,
      ...r5.predicate,
      securityCounter: 9,
      previous: null,
      signer: signer.spkiSha256,
    });
    writeFileSync(f('party.der'), await signReleaseManifest(signer, statement, new Date()));
    refused('ERR_RELEASE_SIGNER_EKU', 'party.der');
  });

  it('refuses a release under another root: ERR_RELEASE_SIGNER_CHAIN', function () {
    const other = f('other');
    ok('init', '--store', other);
    ok('ca', 'create', '--store', other, '--name', 'evil-root', '--organization', 'Evil');
    ok('firmware', 'signer', 'create', '--store', other, '--name', 'evil-fw', '--ca', 'evil-root');
    ok(
      'firmware',
      'release',
      '--store',
      other,
      '--file',
      f('image.bin'),
      '--version',
      '6.6.6',
      '--security-counter',
      '66',
      '--model',
      'GW-100',
      '--expires',
      'P1D',
      '--signer',
      'evil-fw',
      '--out',
      f('evil.der'),
    );
    refused('ERR_RELEASE_SIGNER_CHAIN', 'evil.der');
  });

  it('refuses a withdrawn release (ERR_RELEASE_WITHDRAWN) and a stale withdrawal list (ERR_WITHDRAWALS_STALE)', async function () {
    const w = ok('firmware', 'revoke', '--store', store, '--release', '1.5.0', '--signer', 'acme-fw', '--out', f('withdrawals.der'));
    assert.equal(w.withdrawn.length, 1);
    assert.equal(ok('firmware', 'list', '--store', store).releases.find((r: { version: string }) => r.version === '1.5.0').withdrawn, true);
    names(refused('ERR_RELEASE_WITHDRAWN', 'r5.der', ['--withdrawals', f('withdrawals.der')]), 'r5.der');
    ok('firmware', 'revoke', '--store', store, '--signer', 'acme-fw', '--next-update', 'PT1S', '--out', f('stale.der'));
    await new Promise((r) => setTimeout(r, 2100));
    names(refused('ERR_WITHDRAWALS_STALE', 'r5.der', ['--withdrawals', f('stale.der')]), 'stale.der');
  });

  it('refuses an expired manifest (freeze): ERR_RELEASE_EXPIRED', async function () {
    // short.der expired two seconds after it was made, long before this test.
    names(refused('ERR_RELEASE_EXPIRED', 'short.der'), 'short.der');
  });

  it('refuses a state file whose counter was edited backwards or forwards (ERR_UPDATE_STATE_TAMPERED), or is not a state (exit 3)', function () {
    const good = readFileSync(f('state.json'), 'utf8');
    for (const edited of [good.replace('"counter":5', '"counter":3'), good.replace('"counter":5', '"counter":50')]) {
      assert.notEqual(edited, good);
      writeFileSync(f('state.json'), edited);
      refused('ERR_UPDATE_STATE_TAMPERED', 'r3.der');
    }
    writeFileSync(f('state.json'), '{"counter":1}');
    refused('ERR_UPDATE_STATE_MALFORMED', 'r5.der', [], 3);
    writeFileSync(f('state.json'), good);
  });

  it('refuses a state path that is a symbolic link or a FIFO (ERR_UPDATE_STATE_UNREADABLE), writing nothing', function () {
    // A rename over a link replaces the link: the file it names (the persistent copy) would keep the old counter.
    writeFileSync(f('real.json'), readFileSync(f('state.json')));
    symlinkSync(f('real.json'), f('link.json'));
    const before = readFileSync(f('real.json'));
    const linked = agent('r5.der', [], 'link.json');
    assert.equal(linked.json?.error?.code, 'ERR_UPDATE_STATE_UNREADABLE', linked.stdout + linked.stderr);
    assert.equal(linked.status, 1);
    names(linked, 'link.json');
    assert.ok(lstatSync(f('link.json')).isSymbolicLink(), 'the link is still a link');
    assert.deepEqual(readFileSync(f('real.json')), before);
    // A FIFO is refused without opening it (an open would wait for a writer).
    assert.equal(spawnSync('mkfifo', [f('fifo.json')]).status, 0);
    const fifo = agent('r5.der', [], 'fifo.json');
    assert.equal(fifo.json?.error?.code, 'ERR_UPDATE_STATE_UNREADABLE', fifo.stdout + fifo.stderr);
    assert.equal(fifo.status, 1);
    assert.ok(lstatSync(f('fifo.json')).isFIFO(), 'the FIFO is left as it was');
  });

  it('never moves the state back when the agent is killed with SIGKILL at random points of an update', async function () {
    // Counters 10, 11, ... each a release of a 8 MiB image, so that hashing and the state write take a while.
    writeFileSync(f('big.bin'), randomBytes(8 * 1024 * 1024));
    const rounds = 6;
    for (let i = 0; i < rounds; i++) release(`k${i}.der`, `3.${i}.0`, 10 + i, { file: f('big.bin') });
    writeFileSync(f('kill.json'), readFileSync(f('state.json')));
    const run = (manifest: string) =>
      spawn(
        process.execPath,
        [BIN, 'agent', 'update', '--manifest', f(manifest), '--image', f('big.bin'), '--trust', f('root.pem'), '--state', f('kill.json'), '--model', 'GW-100'],
        {
          env: cliEnv(ENV),
          stdio: 'ignore',
        },
      );
    const finished = (p: ReturnType<typeof run>) => new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    // How long one update takes here, to spread the kill points over it.
    const t0 = Date.now();
    assert.equal(await finished(run('k0.der')), 0);
    const span = Date.now() - t0;
    let last = counter('kill.json');
    let killed = 0;
    for (let i = 1; i < rounds; i++) {
      for (let attempt = 0; attempt < 4; attempt++) {
        const p = run(`k${i}.der`);
        const at = Math.floor(Math.random() * span * 1.2);
        const timer = setTimeout(() => p.kill('SIGKILL'), at);
        const code = await finished(p);
        clearTimeout(timer);
        if (code === null) killed++;
        // Whole and never lower: either the old state or the new one.
        const now = counter('kill.json');
        assert.ok(now === last || now === 10 + i, `after a kill at ${at} ms the counter is ${now} (was ${last})`);
        last = now;
      }
      if (last !== 10 + i) assert.equal(await finished(run(`k${i}.der`)), 0);
      last = counter('kill.json');
      assert.equal(last, 10 + i);
    }
    assert.ok(killed > 0, 'some runs were killed');
  });

  it('once a device took a withdrawal list, refuses an update without one: ERR_WITHDRAWALS_MISSING, naming the state', function () {
    const update = (extra: string[]) =>
      cli(
        'agent',
        'update',
        '--manifest',
        f('k5.der'),
        '--image',
        f('big.bin'),
        '--trust',
        f('root.pem'),
        '--state',
        f('kill.json'),
        '--model',
        'GW-100',
        ...extra,
      );
    const w = ok('firmware', 'revoke', '--store', store, '--signer', 'acme-fw', '--out', f('current.der'));
    const r = update(['--withdrawals', f('current.der')]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.json.data.withdrawalsNumber, w.number);
    const before = readFileSync(f('kill.json'));
    const missing = update([]);
    assert.equal(missing.json?.error?.code, 'ERR_WITHDRAWALS_MISSING', missing.stdout + missing.stderr);
    assert.equal(missing.status, 1);
    names(missing, 'kill.json');
    assert.deepEqual(readFileSync(f('kill.json')), before);
  });
});
