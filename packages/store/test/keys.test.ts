/**
 * Private key files: encrypted PKCS#8 PEM by default, mode 0600, written once; a wrong passphrase is a code.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeCryptoProvider } from '@custody/core/node';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { decodePrivateKey, encodePrivateKey, readPrivateKeyFile, writePrivateKeyFile } from '../src/keys.js';

const provider = new NodeCryptoProvider();
const PASS = 'correct horse battery staple';

describe('key files', function () {
  let dir: string;
  let key: PrivateKeyHandle;

  before(async function () {
    key = (await provider.generateKeyPair('P-256')).privateKey;
  });
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'custody-keys-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('writePrivateKeyFile', function () {
    it('writes an encrypted PKCS#8 PEM with mode 0600', function () {
      const file = join(dir, 'a.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const pem = readFileSync(file, 'utf8');
      assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      assert.doesNotMatch(pem, /BEGIN PRIVATE KEY|BEGIN EC PRIVATE KEY/);
    });

    it('writes mode 0600 whatever the umask', function () {
      const old = process.umask(0);
      try {
        const file = join(dir, 'umask.key.pem');
        writePrivateKeyFile(file, key, { passphrase: PASS });
        assert.equal(statSync(file).mode & 0o777, 0o600);
      } finally {
        process.umask(old);
      }
    });

    it('round-trips the key under the passphrase', function () {
      const file = join(dir, 'b.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      const back = readPrivateKeyFile(file, PASS);
      assert.equal(back.curve, 'P-256');
      assert.deepEqual(Buffer.from(back.spki), Buffer.from(key.spki));
    });

    it('is readable by openssl with the passphrase (and not without it)', function () {
      const file = join(dir, 'c.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      const ok = spawnSync('openssl', ['pkey', '-in', file, '-passin', `pass:${PASS}`, '-noout'], { encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stderr);
      const bad = spawnSync('openssl', ['pkey', '-in', file, '-passin', 'pass:wrong', '-noout'], { encoding: 'utf8' });
      assert.notEqual(bad.status, 0);
    });

    it('writes a plain key only when asked explicitly, still mode 0600', function () {
      const file = join(dir, 'plain.key.pem');
      writePrivateKeyFile(file, key, { unencrypted: true });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.match(readFileSync(file, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
      assert.deepEqual(Buffer.from(readPrivateKeyFile(file, undefined).spki), Buffer.from(key.spki));
    });

    it('refuses to overwrite an existing file with ERR_IO_KEY_EXISTS, leaving it as it was', function () {
      const file = join(dir, 'd.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      const before = readFileSync(file);
      assert.throws(() => writePrivateKeyFile(file, key, { passphrase: 'another' }), { code: 'ERR_IO_KEY_EXISTS' });
      assert.deepEqual(readFileSync(file), before);
      const other = join(dir, 'not-a-key.txt');
      writeFileSync(other, 'precious');
      assert.throws(() => writePrivateKeyFile(other, key, { unencrypted: true }), { code: 'ERR_IO_KEY_EXISTS' });
      assert.equal(readFileSync(other, 'utf8'), 'precious');
    });

    it('refuses an empty passphrase with ERR_USAGE_PASSPHRASE and writes nothing', function () {
      const file = join(dir, 'e.key.pem');
      assert.throws(() => writePrivateKeyFile(file, key, { passphrase: '' }), { code: 'ERR_USAGE_PASSPHRASE' });
      assert.throws(() => statSync(file), { code: 'ENOENT' });
    });

    it('fails with ERR_IO when the folder does not exist', function () {
      assert.throws(() => writePrivateKeyFile(join(dir, 'missing', 'f.key.pem'), key, { passphrase: PASS }), { code: 'ERR_IO' });
    });
  });

  describe('readPrivateKeyFile', function () {
    it('refuses a wrong passphrase with ERR_KEY_PASSPHRASE, naming the file', function () {
      const file = join(dir, 'w.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      assert.throws(() => readPrivateKeyFile(file, 'wrong'), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_KEY_PASSPHRASE');
        assert.ok(e.message.includes(file), e.message);
        return true;
      });
    });

    it('refuses an encrypted key without a passphrase with ERR_KEY_PASSPHRASE', function () {
      const file = join(dir, 'n.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      assert.throws(() => readPrivateKeyFile(file, undefined), { code: 'ERR_KEY_PASSPHRASE' });
    });

    it('refuses a file that is not a PEM key with ERR_KEY_PARSE', function () {
      const file = join(dir, 'junk.pem');
      writeFileSync(file, 'hello\n');
      assert.throws(() => readPrivateKeyFile(file, PASS), { code: 'ERR_KEY_PARSE' });
    });

    it('refuses a damaged plain key with ERR_KEY_PARSE', function () {
      const pem = encodePrivateKey(key, { unencrypted: true });
      const damaged = pem.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
      assert.throws(() => decodePrivateKey(damaged, undefined, 'damaged.pem'), { code: 'ERR_KEY_PARSE' });
    });

    it('fails with ERR_IO for a missing file', function () {
      assert.throws(() => readPrivateKeyFile(join(dir, 'none.pem'), PASS), { code: 'ERR_IO' });
    });
  });
});
