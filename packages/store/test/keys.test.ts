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
import {
  decodePrivateKey,
  deriveKeyKDF,
  encodePrivateKey,
  KEY_KDF_ITERATIONS,
  keyKDFIterations,
  readPrivateKeyFile,
  readPrivateKeyFileAsync,
  writePrivateKeyFile,
} from '../src/keys.js';
import { KDF_ITERATIONS_MAX, KDF_ITERATIONS_MIN, readKeyKDF } from '../src/key-kdf-limits.js';
import { integer, nullValue, octetString, oid, seq, smallInt } from '@custody/core/asn1';
import { encodePEM } from '@custody/core/x509';

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';
const SCRYPT = '1.3.6.1.4.1.11591.4.11';
const HMAC_SHA256 = '1.2.840.113549.2.9';
const AES_256_CBC = '2.16.840.1.101.3.4.1.42';

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

  /** An EncryptedPrivateKeyInfo under PBES2 whose derivation is `kdf` (its ciphertext is junk: it is refused first). */
  const crafted = (name: string, kdf: Uint8Array): string => {
    const der = seq(seq(oid(PBES2), seq(kdf, seq(oid(AES_256_CBC), octetString(new Uint8Array(16))))), octetString(new Uint8Array(48)));
    const file = join(dir, name);
    writeFileSync(file, encodePEM(der, 'ENCRYPTED PRIVATE KEY'));
    return file;
  };
  const pbkdf2 = (iterations: Uint8Array) => seq(oid(PBKDF2), seq(octetString(new Uint8Array(16)), iterations, seq(oid(HMAC_SHA256), nullValue())));

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

  describe('key derivation (issue 20: PKCS#8 encryption used 2,048 PBKDF2 iterations)', function () {
    const asn1parse = (file: string) => {
      const r = spawnSync('openssl', ['asn1parse', '-in', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };

    it('encrypts under PBES2, PBKDF2-HMAC-SHA256 at 600,000 iterations by default, AES-256-CBC, read by openssl pkey', function () {
      this.timeout(20_000);
      const saved = process.env.CUSTODY_TEST_ONLY_KDF_ITERATIONS;
      delete process.env.CUSTODY_TEST_ONLY_KDF_ITERATIONS;
      try {
        assert.equal(keyKDFIterations(), 600_000);
        const file = join(dir, 'strong.key.pem');
        writePrivateKeyFile(file, key, { passphrase: PASS });
        const parsed = asn1parse(file);
        assert.match(parsed, /:PBES2/);
        assert.match(parsed, /:PBKDF2/);
        assert.match(parsed, /:hmacWithSHA256/);
        assert.match(parsed, /:aes-256-cbc/);
        // 600,000 = 0x0927C0
        assert.match(parsed, /INTEGER\s+:0927C0/);
        const ok = spawnSync('openssl', ['pkey', '-in', file, '-passin', `pass:${PASS}`, '-pubout'], { encoding: 'utf8' });
        assert.equal(ok.status, 0, ok.stderr);
        assert.deepEqual(Buffer.from(readPrivateKeyFile(file, PASS).spki), Buffer.from(key.spki));
      } finally {
        if (saved !== undefined) process.env.CUSTODY_TEST_ONLY_KDF_ITERATIONS = saved;
      }
      assert.equal(KEY_KDF_ITERATIONS, 600_000);
    });

    it('takes the test-only iteration count only when it is a positive integer', function () {
      const saved = process.env.CUSTODY_TEST_ONLY_KDF_ITERATIONS;
      try {
        for (const [v, want] of [
          ['1000', 1000],
          ['0', 600_000],
          ['-5', 600_000],
          ['lots', 600_000],
          ['', 600_000],
        ] as const) {
          process.env.CUSTODY_TEST_ONLY_KDF_ITERATIONS = v;
          assert.equal(keyKDFIterations(), want, v);
        }
      } finally {
        if (saved === undefined) delete process.env.CUSTODY_TEST_ONLY_KDF_ITERATIONS;
        else process.env.CUSTODY_TEST_ONLY_KDF_ITERATIONS = saved;
      }
    });

    it('a batch derivation is shared: one salt for the batch, a fresh IV a key, each file read by openssl', async function () {
      const kdf = deriveKeyKDF(PASS, 1000);
      const other = (await provider.generateKeyPair('P-256')).privateKey;
      const files = [key, other].map((k, i) => {
        const file = join(dir, `batch-${i}.key.pem`);
        writeFileSync(file, encodePrivateKey(k, { passphrase: PASS, kdf }));
        return file;
      });
      const [a, b] = files.map(asn1parse) as [string, string];
      const octets = (t: string) => [...t.matchAll(/OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]+)/g)].map((m) => m[1]);
      assert.equal(octets(a)[0], octets(b)[0], 'same salt');
      assert.notEqual(octets(a)[1], octets(b)[1], 'different IVs');
      for (const file of files) {
        const ok = spawnSync('openssl', ['pkey', '-in', file, '-passin', `pass:${PASS}`, '-noout'], { encoding: 'utf8' });
        assert.equal(ok.status, 0, ok.stderr);
      }
      assert.deepEqual(Buffer.from(readPrivateKeyFile(files[1]!, PASS).spki), Buffer.from(other.spki));
    });
  });

  describe('readPrivateKeyFile', function () {
    it('refuses a wrong passphrase with ERR_KEY_PASSPHRASE, naming the file', function () {
      const file = join(dir, 'w.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      assert.throws(
        () => readPrivateKeyFile(file, 'wrong'),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_KEY_PASSPHRASE');
          assert.ok(e.message.includes(file), e.message);
          return true;
        },
      );
    });

    it('refuses an encrypted key without a passphrase with ERR_KEY_PASSPHRASE', function () {
      const file = join(dir, 'n.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      assert.throws(() => readPrivateKeyFile(file, undefined), { code: 'ERR_KEY_PASSPHRASE' });
    });

    describe('a hostile key file asks for a costly derivation (issue 20: the iteration count was uncapped when read)', function () {
      const scrypt = (n: number, r: number, p: number) => seq(oid(SCRYPT), seq(octetString(new Uint8Array(16)), smallInt(n), smallInt(r), smallInt(p)));
      const refusedFast = (file: string, what: RegExp) => {
        const started = process.hrtime.bigint();
        assert.throws(
          () => readPrivateKeyFile(file, PASS),
          (e: Error & { code?: string }) => {
            assert.equal(e.code, 'ERR_KEY_KDF');
            assert.ok(e.message.startsWith(`${file}: `), e.message);
            assert.match(e.message, what);
            return true;
          },
        );
        // Refused before deriving: 2^31 iterations would take OpenSSL many minutes (the mocha timeout fails first).
        assert.ok(process.hrtime.bigint() - started < 5_000_000_000n);
      };

      it('refuses more than 10,000,000 PBKDF2 iterations with ERR_KEY_KDF before deriving', function () {
        refusedFast(crafted('huge.key.pem', pbkdf2(smallInt(0x7fffffff))), /2147483647 PBKDF2 iterations, more than 10000000/);
        refusedFast(crafted('just-over.key.pem', pbkdf2(smallInt(KDF_ITERATIONS_MAX + 1))), /10000001 PBKDF2 iterations/);
        // A count past 2^48, which no number holds exactly.
        refusedFast(crafted('vast.key.pem', pbkdf2(integer(Uint8Array.of(0x01, 0, 0, 0, 0, 0, 0, 0, 0)))), /more than 2\^48 PBKDF2 iterations/);
      });

      it('refuses fewer than 1,000 iterations, even with the right passphrase', function () {
        const file = join(dir, 'weak.key.pem');
        writeFileSync(file, encodePrivateKey(key, { passphrase: PASS, kdf: deriveKeyKDF(PASS, KDF_ITERATIONS_MIN - 1) }));
        refusedFast(file, /only 999 PBKDF2 iterations, fewer than 1000/);
        writeFileSync(file, encodePrivateKey(key, { passphrase: PASS, kdf: deriveKeyKDF(PASS, KDF_ITERATIONS_MIN) }));
        assert.deepEqual(Buffer.from(readPrivateKeyFile(file, PASS).spki), Buffer.from(key.spki));
      });

      it('refuses scrypt asking for more than 64 MiB or p > 16, and reads an openssl -scrypt key', function () {
        refusedFast(crafted('scrypt-mem.key.pem', scrypt(1 << 20, 8, 1)), /N=1048576, r=8, p=1/);
        refusedFast(crafted('scrypt-p.key.pem', scrypt(16384, 8, 1000)), /p > 16/);
        const plain = join(dir, 'plain.pem');
        writeFileSync(plain, encodePrivateKey(key, { unencrypted: true }));
        const file = join(dir, 'openssl-scrypt.key.pem');
        const r = spawnSync('openssl', ['pkcs8', '-topk8', '-scrypt', '-in', plain, '-out', file, '-passout', `pass:${PASS}`], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(Buffer.from(readPrivateKeyFile(file, PASS).spki), Buffer.from(key.spki));
      });

      it('refuses an unknown derivation with ERR_KEY_KDF, and a malformed one with ERR_KEY_PARSE', function () {
        refusedFast(crafted('other.key.pem', seq(oid('1.2.3.4'), seq(octetString(new Uint8Array(8))))), /1\.2\.3\.4 is not PBKDF2 or scrypt/);
        assert.throws(() => readPrivateKeyFile(crafted('bad.key.pem', pbkdf2(octetString(new Uint8Array(2)))), PASS), { code: 'ERR_KEY_PARSE' });
      });
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
  describe('readPrivateKeyFileAsync (the derivation off the main thread, so that two keys derive side by side)', function () {
    /** What reading `file` under `passphrase` gives: the key's SPKI, or the error's code and whether it names the file. */
    const outcome = async (read: () => PrivateKeyHandle | Promise<PrivateKeyHandle>, file: string) => {
      try {
        return { spki: Buffer.from((await read()).spki).toString('hex') };
      } catch (e) {
        const err = e as Error & { code?: string };
        return { code: err.code, namesFile: err.message.includes(file) };
      }
    };
    const same = async (file: string, passphrase: string | undefined) => {
      const sync = await outcome(() => readPrivateKeyFile(file, passphrase), file);
      assert.deepEqual(await outcome(() => readPrivateKeyFileAsync(file, passphrase), file), sync, file);
      return sync;
    };

    it("reads custody's own form as OpenSSL does: the same key, and the same refusals", async function () {
      const file = join(dir, 'own.key.pem');
      writePrivateKeyFile(file, key, { passphrase: PASS });
      assert.deepEqual(await same(file, PASS), { spki: Buffer.from(key.spki).toString('hex') });
      assert.deepEqual(await same(file, 'wrong'), { code: 'ERR_KEY_PASSPHRASE', namesFile: true });
      assert.deepEqual(await same(file, undefined), { code: 'ERR_KEY_PASSPHRASE', namesFile: true });
      // A damaged ciphertext: bad padding, or plaintext that is not a key.
      const der = Buffer.from(readFileSync(file, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
      // Read as custody's own form (decrypted by custody, not handed to OpenSSL).
      const kdf = readKeyKDF(der, file);
      assert.ok(kdf.kdf === 'pbkdf2' && kdf.own?.iv.length === 16, 'custody writes its own form');
      for (const at of [der.length - 1, der.length - 20, der.length - 40]) {
        const damaged = Buffer.from(der);
        damaged[at]! ^= 0x40;
        const f = join(dir, `damaged-${at}.key.pem`);
        writeFileSync(f, encodePEM(damaged, 'ENCRYPTED PRIVATE KEY'));
        assert.equal((await same(f, PASS)).code, 'ERR_KEY_PASSPHRASE');
      }
      assert.deepEqual(await same(join(dir, 'none.pem'), PASS), { code: 'ERR_IO', namesFile: true });
    });

    it('refuses a file of two key blocks in both readers (was: OpenSSL loaded a plain key placed before the encrypted one, whatever the passphrase)', async function () {
      const other = (await provider.generateKeyPair('P-256')).privateKey;
      const file = join(dir, 'two.key.pem');
      writeFileSync(file, encodePrivateKey(other, { unencrypted: true }) + encodePrivateKey(key, { passphrase: PASS }));
      for (const passphrase of [PASS, 'wrong']) assert.deepEqual(await same(file, passphrase), { code: 'ERR_KEY_PARSE', namesFile: true });
      // What `openssl ecparam -genkey` writes, curve parameters then the key, is one key.
      const ecparam = join(dir, 'ecparam.key.pem');
      const r = spawnSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-out', ecparam], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(readFileSync(ecparam, 'utf8'), /BEGIN EC PARAMETERS[\s\S]+BEGIN EC PRIVATE KEY/);
      assert.ok('spki' in (await same(ecparam, undefined)));
    });

    it('leaves other forms to OpenSSL: other ciphers and PRFs, scrypt, a plain key, hostile derivations', async function () {
      const plain = join(dir, 'plain.pem');
      writeFileSync(plain, encodePrivateKey(key, { unencrypted: true }));
      assert.deepEqual(await same(plain, undefined), { spki: Buffer.from(key.spki).toString('hex') });
      assert.deepEqual(await same(plain, PASS), { spki: Buffer.from(key.spki).toString('hex') });
      for (const [name, args] of [
        ['aes128', ['-v2', 'aes-128-cbc', '-iter', '2000']],
        ['sha1-prf', ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1', '-iter', '2000']],
        ['sha512-prf', ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA512', '-iter', '2000']],
        ['scrypt', ['-scrypt']],
      ] as const) {
        const file = join(dir, `${name}.key.pem`);
        const r = spawnSync('openssl', ['pkcs8', '-topk8', '-in', plain, '-out', file, '-passout', `pass:${PASS}`, ...args], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(await same(file, PASS), { spki: Buffer.from(key.spki).toString('hex') }, name);
        const der = Buffer.from(readFileSync(file, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
        const kdf = readKeyKDF(der, file);
        assert.ok(!(kdf.kdf === 'pbkdf2' && kdf.own), `${name} is not custody's form: OpenSSL reads it`);
        assert.equal((await same(file, 'wrong')).code, 'ERR_KEY_PASSPHRASE', name);
      }
      assert.equal((await same(crafted('huge.key.pem', pbkdf2(smallInt(0x7fffffff))), PASS)).code, 'ERR_KEY_KDF');
      assert.equal((await same(crafted('weak.key.pem', pbkdf2(smallInt(999))), PASS)).code, 'ERR_KEY_KDF');
      assert.equal((await same(crafted('bad.key.pem', pbkdf2(octetString(new Uint8Array(2)))), PASS)).code, 'ERR_KEY_PARSE');
      // Own form in every field but junk in place of a key: the derivation runs, the decryption refuses it.
      assert.equal((await same(crafted('junk.key.pem', pbkdf2(smallInt(1000))), PASS)).code, 'ERR_KEY_PASSPHRASE');
    });
  });
});
