/**
 * `ca create`, `parties create` and `firmware signer create` with keys in a SoftHSM token, with the built CLI:
 * `--key-store pkcs11:...` generates the key there, `--key pkcs11:...` takes one already there; a batch is
 * provisioned under them; openssl accepts the chain and the release the token's signer signs; a wrong PIN is one line with its code and writes nothing. Skipped, saying why,
 * where SoftHSM is not installed.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVerifierKey, verifyCheckpoint } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { custodyJSON, openssl, snapshot, type CLIRun } from './e2e-helpers.js';
import { assertEnvelope } from './cli-json-schema.js';
import { pkcs11Tool, testTokenOrSkip, type TestToken } from '../packages/app/test/pkcs11/softhsm.js';

const PIN = '97531';
const PASS = 'pkcs11 e2e passphrase';

describe('keys in a PKCS#11 token (CLI end to end)', function () {
  this.timeout(180_000);
  let token: TestToken;
  let store: string;
  const env = () => ({ CUSTODY_PASSPHRASE: PASS, CUSTODY_PKCS11_MODULE: token.module, SOFTHSM2_CONF: token.conf });
  const cli = (...args: string[]): CLIRun => custodyJSON(args, { env: env(), cwd: token.dir });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(...args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const uri = (object: string) => `pkcs11:token=e2e;object=${object}?pin-source=file:${token.pinFile}`;

  before(function () {
    const before = process.env.SOFTHSM2_CONF;
    token = testTokenOrSkip(this, 'e2e', PIN);
    // The children get SOFTHSM2_CONF explicitly; this process keeps its own.
    if (before === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = before;
    store = join(token.dir, 'store');
    ok('init', '--store', store);
  });
  after(() => token?.dispose());

  it('ca create and parties create --key-store generate the keys in the token; a batch provisioned under them verifies', () => {
    const root = ok('ca', 'create', '--store', store, '--name', 'root', '--organization', 'Acme', '--key-store', uri('root'));
    assert.match(root.stdout, /key in the token: pkcs11:serial=[0-9a-f]+;token=e2e;object=root;id=(%[0-9A-F]{2}){8};type=private\?pin-source=file:/);
    ok('ca', 'create', '--store', store, '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme', '--key-store', uri('issuing'));
    ok('parties', 'create', '--store', store, '--name', 'factory', '--ca', 'issuing', '--organization', 'Acme', '--key-store', uri('factory'));
    const doc = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')) as {
      cas: Record<string, { certificate: string; key: { type: string } }>;
      parties: Record<string, { certificate: string }>;
    };
    assert.equal(doc.cas.root!.key.type, 'pkcs11');
    writeFileSync(join(token.dir, 'root.pem'), doc.cas.root!.certificate);
    writeFileSync(join(token.dir, 'issuing.pem'), doc.cas.issuing!.certificate);
    writeFileSync(join(token.dir, 'factory.pem'), doc.parties.factory!.certificate);
    assert.match(
      openssl([
        'verify',
        '-x509_strict',
        '-purpose',
        'any',
        '-CAfile',
        join(token.dir, 'root.pem'),
        '-untrusted',
        join(token.dir, 'issuing.pem'),
        join(token.dir, 'factory.pem'),
      ]),
      /OK/,
    );
    const out = join(token.dir, 'devices');
    ok('devices', 'provision', '--store', store, '--ca', 'issuing', '--generate', '2', '--serial-pattern', 'E{seq:3}', '--party', 'factory', '--out', out);
    for (const serial of ['E001', 'E002']) {
      assert.match(
        openssl(['verify', '-x509_strict', '-CAfile', join(token.dir, 'root.pem'), '-untrusted', join(token.dir, 'issuing.pem'), join(out, `${serial}.pem`)]),
        /OK/,
      );
    }
    const listed = pkcs11Tool(token, ['--list-objects', '--type', 'privkey']);
    if (listed) assert.equal(listed.stdout.match(/never extractable/g)?.length, 3, listed.stdout);
  });

  it('firmware signer create --key-store makes the signer key in the token; its release is accepted by agent update', () => {
    ok('firmware', 'signer', 'create', '--store', store, '--name', 'fw', '--ca', 'issuing', '--key-store', uri('fw'));
    const doc = JSON.parse(readFileSync(join(store, 'releases.json'), 'utf8')) as { signers: Array<{ name: string; key: { type: string } }> };
    assert.equal(doc.signers.find((s) => s.name === 'fw')!.key.type, 'pkcs11');
    writeFileSync(join(token.dir, 'fw.bin'), Buffer.alloc(2048, 1));
    const rel = join(token.dir, 'fw.release');
    ok(
      'firmware',
      'release',
      '--store',
      store,
      '--file',
      join(token.dir, 'fw.bin'),
      '--version',
      '1.0',
      '--security-counter',
      '1',
      '--model',
      'M',
      '--expires',
      'P1D',
      '--signer',
      'fw',
      '--out',
      rel,
    );
    openssl(['cms', '-verify', '-inform', 'DER', '-binary', '-in', rel, '-CAfile', join(token.dir, 'root.pem'), '-purpose', 'any', '-out', '/dev/null']);
    const u = ok(
      'agent',
      'update',
      '--manifest',
      rel,
      '--image',
      join(token.dir, 'fw.bin'),
      '--trust',
      join(token.dir, 'root.pem'),
      '--state',
      join(token.dir, 'update.json'),
      '--model',
      'M',
      '--create-state',
      '--json',
    );
    assert.equal(u.json.data.counter, 1);
  });

  it('ca create --key takes a key already in the token', () => {
    ok('ca', 'create', '--store', store, '--name', 'root-again', '--organization', 'Acme', '--key', uri('root'));
    const doc = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8')) as { cas: Record<string, { certificate: string }> };
    const spki = (pem: string) => openssl(['x509', '-noout', '-pubkey'], pem);
    assert.equal(spki(doc.cas['root-again']!.certificate), spki(doc.cas.root!.certificate));
  });

  it('ca list and parties list show a token key as never extractable, as the token reports it, and a key file as an encrypted file', () => {
    ok('ca', 'create', '--store', store, '--name', 'file-root', '--organization', 'Acme');
    const cas = assertEnvelope('ca list', ok('ca', 'list', '--store', store, '--json').stdout).data.cas as any[];
    const ca = (name: string) => cas.find((c) => c.name === name)!.key;
    for (const name of ['root', 'issuing']) {
      const k = ca(name);
      assert.equal(k.storage, 'pkcs11');
      assert.match(k.uri, new RegExp(`^pkcs11:serial=[0-9a-f]+;token=e2e;object=${name};`));
      assert.equal(k.neverExtractable, true);
      // SoftHSM is a software token and says so (CKF_HW_SLOT clear): custody does not call it hardware.
      assert.equal(k.hardware, false);
      assert.deepEqual(k.protection, {
        token: true,
        hardwareSlot: false,
        local: true,
        extractable: false,
        neverExtractable: true,
        sensitive: true,
        alwaysSensitive: true,
      });
    }
    assert.deepEqual(ca('file-root'), { storage: 'file', file: 'file-root.key.pem', encrypted: true });
    const parties = assertEnvelope('parties list', ok('parties', 'list', '--store', store, '--json').stdout).data.parties as any[];
    assert.equal(parties.find((p) => p.name === 'factory')!.key.neverExtractable, true);
    const text = ok('ca', 'list', '--store', store).stdout;
    assert.match(
      text,
      /^root .*\n.*\n {2}key: PKCS#11 software token \(the module reports no hardware slot\), never extractable \(not extractable, never extractable, sensitive, always sensitive, generated in the token\): pkcs11:/m,
    );
    assert.match(text, /^file-root .*\n.*\n {2}key: encrypted file file-root\.key\.pem$/m);
    assert.match(ok('parties', 'list', '--store', store).stdout, /^factory .*\n.*\n {2}key: PKCS#11 software token .*, never extractable \(/m);
  });

  it('a key imported into the token as extractable is listed as NOT never-extractable (read from the token, not assumed)', function () {
    // The key is made outside the token, as a key file would be, and written into it with CKA_EXTRACTABLE set.
    const der = join(token.dir, 'imported.der');
    const pub = join(token.dir, 'imported.pub.der');
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(der, pair.privateKey.export({ format: 'der', type: 'pkcs8' }));
    writeFileSync(pub, pair.publicKey.export({ format: 'der', type: 'spki' }));
    const wrote = pkcs11Tool(token, ['--write-object', der, '--type', 'privkey', '--id', '0b0b', '--label', 'imported', '--extractable']);
    if (!wrote) {
      console.log('      (skipped: pkcs11-tool is not installed; apt-get install opensc)');
      this.skip();
    }
    assert.equal(wrote.status, 0, wrote.stderr);
    assert.equal(pkcs11Tool(token, ['--write-object', pub, '--type', 'pubkey', '--id', '0b0b', '--label', 'imported'])!.status, 0);
    ok('ca', 'create', '--store', store, '--name', 'imported-ca', '--organization', 'Acme', '--key', uri('imported'));
    const cas = assertEnvelope('ca list', ok('ca', 'list', '--store', store, '--json').stdout).data.cas as any[];
    const k = cas.find((c) => c.name === 'imported-ca')!.key;
    assert.equal(k.storage, 'pkcs11');
    assert.equal(k.neverExtractable, false);
    assert.equal(k.protection.extractable, true);
    assert.equal(k.protection.neverExtractable, false);
    assert.equal(k.protection.local, false);
    assert.match(
      ok('ca', 'list', '--store', store).stdout,
      /^imported-ca .*\n.*\n {2}key: PKCS#11 software token .*, NOT never-extractable \(extractable, was extractable, .*imported into the token\)/m,
    );
  });

  it('log init --key-store makes the log key in the token; checkpoints are signed there and verify under log.pub', async () => {
    const r = ok('log', 'init', '--store', store, '--origin', 'acme.example/token-log', '--key-store', uri('log'), '--json');
    const init = assertEnvelope('log init', r.stdout).data;
    assert.match(init.keyUri, /^pkcs11:serial=[0-9a-f]+;token=e2e;object=log;id=/);
    assert.equal(init.keyFile, undefined);
    const doc = JSON.parse(readFileSync(join(store, 'store.json'), 'utf8'));
    assert.equal(doc.log.key.type, 'pkcs11');
    assert.equal(doc.log.key.protection.neverExtractable, true);
    ok(
      'devices',
      'provision',
      '--store',
      store,
      '--ca',
      'issuing',
      '--generate',
      '1',
      '--serial-pattern',
      'L{seq:3}',
      '--party',
      'factory',
      '--out',
      join(token.dir, 'log-devices'),
    );
    const cp = assertEnvelope('log checkpoint', ok('log', 'checkpoint', '--store', store, '--json').stdout).data;
    assert.ok(cp.treeSize >= 1);
    const key = parseVerifierKey(readFileSync(join(store, 'log.pub'), 'utf8').trim());
    assert.equal(key.name, 'acme.example/token-log');
    const { checkpoint } = await verifyCheckpoint(cp.checkpoint, [key], new NodeCryptoProvider());
    assert.equal(checkpoint.treeSize, cp.treeSize);
    // The key never left the token: pkcs11-tool sees it never extractable.
    const listed = pkcs11Tool(token, ['--list-objects', '--type', 'privkey', '--label', 'log']);
    if (listed) assert.match(listed.stdout, /never extractable/);
  });

  it('a wrong PIN, a missing key, a key file for --key: one line with the code, exit code, nothing written', () => {
    const before = snapshot(store);
    const wrong = join(token.dir, 'wrong-pin');
    writeFileSync(wrong, '00000\n', { mode: 0o600 });
    const cases: Array<[string[], string, number]> = [
      [['--key-store', `pkcs11:token=e2e;object=other?pin-source=file:${wrong}`], 'ERR_PKCS11_PIN', 3],
      [['--key', uri('no-such-key')], 'ERR_PKCS11_OBJECT', 3],
      [['--key', `${uri('root')}&module-path=/nonexistent/lib.so`], 'ERR_PKCS11_MODULE', 3],
      [['--key', './root.key.pem'], 'ERR_USAGE_KEY', 2],
    ];
    for (const [flags, code, exit] of cases) {
      const r = cli('ca', 'create', '--store', store, '--name', 'late', '--organization', 'Acme', ...flags, '--json');
      assert.equal(r.status, exit, `${flags.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json?.error?.code, code, r.stdout);
      assert.ok(!String(r.json?.error?.message).includes('\n'));
      const plain = cli('ca', 'create', '--store', store, '--name', 'late', '--organization', 'Acme', ...flags);
      assert.equal(plain.stderr.trim().split('\n').length, 1, plain.stderr);
      assert.match(plain.stderr, new RegExp(code));
    }
    assert.deepEqual(snapshot(store), before);
  });
});
