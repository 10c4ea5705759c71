/**
 * Private key files: PKCS#8 PEM, encrypted under a passphrase unless the caller explicitly asks otherwise,
 * written once with mode 0600. A wrong passphrase is a named error, never a crash.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, pbkdf2, pbkdf2Sync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CustodyError } from '@custody/core/errors';
import { nodeKeyObject, nodePrivateKeyHandle } from '@custody/core/node';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { nullValue, octetString, oid, seq, smallInt } from '@custody/core/asn1';
import { decodePEM, encodePEM } from '@custody/core/x509';
import { checkKeyKDF, readKeyKDF } from './key-kdf-limits.js';

/**
 * PBKDF2-HMAC-SHA256 iterations for keys written under a passphrase: OWASP's figure for PBKDF2-HMAC-SHA256 (2023).
 * About half a second a derivation on one core of the reference machine.
 */
export const KEY_KDF_ITERATIONS = 600_000;

/**
 * A test-only lower iteration count: tests create hundreds of CAs and parties, and each derivation at the default
 * costs about half a second. Never set it outside tests: keys written under it are as weak as its figure.
 */
const TEST_ITERATIONS_ENV = 'CUSTODY_TEST_ONLY_KDF_ITERATIONS';

/** The iteration count new keys get: the default, or the test-only setting when it holds a positive integer. */
export function keyKDFIterations(): number {
  const v = process.env[TEST_ITERATIONS_ENV];
  return v !== undefined && /^[1-9][0-9]{0,8}$/.test(v) ? Number(v) : KEY_KDF_ITERATIONS;
}

/**
 * A passphrase derived once (PBKDF2-HMAC-SHA256, `iterations`, `salt`) into an AES-256 key. A batch of device keys
 * shares one: each key file then carries the batch's salt and its own IV, so that the batch pays one derivation
 * instead of one a key while each file still costs a guesser the full count.
 */
export interface KeyKDF {
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly key: Buffer;
}

/** Derives a passphrase into a `KeyKDF` (a fresh 16-byte salt unless given). */
export function deriveKeyKDF(passphrase: string, iterations: number = keyKDFIterations(), salt: Uint8Array = randomBytes(16)): KeyKDF {
  if (passphrase.length === 0) throw new CustodyError('ERR_USAGE_PASSPHRASE', 'the passphrase is empty');
  return { salt, iterations, key: pbkdf2Sync(passphrase, salt, iterations, 32, 'sha256') };
}

/** How a key is protected at rest: a passphrase (derived here, or once for a batch in `kdf`), or (explicitly) nothing. */
export type KeyProtection = { passphrase: string; kdf?: KeyKDF } | { unencrypted: true };

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';
const HMAC_SHA256 = '1.2.840.113549.2.9';
const AES_256_CBC = '2.16.840.1.101.3.4.1.42';

/**
 * The DER of an EncryptedPrivateKeyInfo (RFC 5958 section 3) under PBES2 (RFC 8018 section 6.2, appendix A.2,
 * A.4): PBKDF2 with HMAC-SHA256 and AES-256-CBC, which OpenSSL (`openssl pkey`) and node:crypto read.
 *
 *   EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
 *   PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
 *   PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER, keyLength INTEGER OPTIONAL,
 *                                prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 }
 */
function encryptPKCS8(pkcs8: Uint8Array, kdf: KeyKDF): Uint8Array {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', kdf.key, iv);
  const encrypted = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  const pbkdf2 = seq(oid(PBKDF2), seq(octetString(kdf.salt), smallInt(kdf.iterations), seq(oid(HMAC_SHA256), nullValue())));
  return seq(seq(oid(PBES2), seq(pbkdf2, seq(oid(AES_256_CBC), octetString(iv)))), octetString(encrypted));
}

/** PEM text of a private key, encrypted (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC) unless `protection` says otherwise. */
export function encodePrivateKey(key: PrivateKeyHandle, protection: KeyProtection): string {
  const ko = nodeKeyObject(key);
  if ('passphrase' in protection) {
    const kdf = protection.kdf ?? deriveKeyKDF(protection.passphrase);
    return encodePEM(encryptPKCS8(ko.export({ format: 'der', type: 'pkcs8' }), kdf), 'ENCRYPTED PRIVATE KEY');
  }
  return ko.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/**
 * Writes a new key file with mode 0600; refuses to replace an existing file.
 * @throws ERR_IO_KEY_EXISTS, ERR_IO
 */
export function writePrivateKeyFile(path: string, key: PrivateKeyHandle, protection: KeyProtection): void {
  const pem = encodePrivateKey(key, protection);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CustodyError('ERR_IO_KEY_EXISTS', `${path}: a key file is already there; refusing to overwrite it`, { file: path });
    throw new CustodyError('ERR_IO', `${path}: cannot create key file (${code})`, { file: path, cause: e });
  }
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses key text of more than one PEM block: OpenSSL would load the first block while the passphrase and the
 * derivation were checked on another (a plain key placed before the encrypted one would load whatever the
 * passphrase). A key file holds one key.
 * @throws ERR_KEY_PARSE
 */
function oneBlock(pem: string, name: string): void {
  // `openssl ecparam -genkey` writes the curve's EC PARAMETERS block before the key: not a key, allowed.
  const blocks = pem.split('-----BEGIN ').length - 1 - (pem.split('-----BEGIN EC PARAMETERS-----').length - 1);
  if (blocks > 1) throw new CustodyError('ERR_KEY_PARSE', `${name}: holds ${blocks} PEM blocks; a key file holds one key`, { file: name });
}

/** The DER of the one ENCRYPTED PRIVATE KEY block of `pem`. @throws ERR_KEY_PARSE */
function encryptedKeyDER(pem: string, name: string): Uint8Array {
  try {
    return decodePEM(pem, ['ENCRYPTED PRIVATE KEY']);
  } catch (e) {
    throw new CustodyError('ERR_KEY_PARSE', `${name}: the encrypted private key's PEM cannot be read`, { file: name, cause: e });
  }
}

const pbkdf2Async = promisify(pbkdf2);

/**
 * `readPrivateKeyFile` with the passphrase derivation off this thread: a key in custody's own form is derived on
 * libuv's thread pool (node:crypto's asynchronous PBKDF2) and decrypted here, so that a command needing two keys
 * derives them side by side, and reads its inputs meanwhile. Any other form goes through OpenSSL, as
 * `readPrivateKeyFile` does. The same checks, bounds and error codes.
 * @throws ERR_KEY_PASSPHRASE, ERR_KEY_KDF, ERR_KEY_PARSE, ERR_IO
 */
export async function readPrivateKeyFileAsync(path: string, passphrase: string | undefined): Promise<PrivateKeyHandle> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    throw new CustodyError('ERR_IO', `${path}: cannot read key file (${(e as NodeJS.ErrnoException).code})`, { file: path, cause: e });
  }
  oneBlock(pem, path);
  if (!pem.includes('BEGIN ENCRYPTED PRIVATE KEY') || passphrase === undefined) return decodePrivateKey(pem, passphrase, path);
  const kdf = readKeyKDF(encryptedKeyDER(pem, path), path);
  checkKeyKDF(kdf, path);
  const own = kdf.kdf === 'pbkdf2' && kdf.own ? { ...kdf.own, iterations: kdf.iterations } : undefined;
  if (!own) return decodePrivateKey(pem, passphrase, path);
  let ko: KeyObject;
  try {
    const key = await pbkdf2Async(passphrase, own.salt, own.iterations, 32, 'sha256');
    const decipher = createDecipheriv('aes-256-cbc', key, own.iv);
    const pkcs8 = Buffer.concat([decipher.update(own.encrypted), decipher.final()]);
    ko = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } catch (e) {
    // A wrong passphrase shows as bad padding, or as plaintext that is not a PKCS#8 key.
    throw new CustodyError('ERR_KEY_PASSPHRASE', `${path}: wrong passphrase, or the key file is damaged`, { file: path, cause: e });
  }
  return nodePrivateKeyHandle(ko);
}

/**
 * Reads a key file. An encrypted key needs the passphrase; a wrong one is ERR_KEY_PASSPHRASE; one whose
 * passphrase derivation costs more than a reader allows (or too little to protect it) is ERR_KEY_KDF, refused
 * before deriving (key-kdf-limits.ts).
 * @throws ERR_KEY_PASSPHRASE, ERR_KEY_KDF, ERR_KEY_PARSE, ERR_IO
 */
export function readPrivateKeyFile(path: string, passphrase: string | undefined): PrivateKeyHandle {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CustodyError('ERR_IO', `${path}: cannot read key file (${(e as NodeJS.ErrnoException).code})`, { file: path, cause: e });
  }
  return decodePrivateKey(pem, passphrase, path);
}

/**
 * Decodes PEM key text (see `readPrivateKeyFile`).
 * @throws ERR_KEY_PASSPHRASE, ERR_KEY_KDF, ERR_KEY_PARSE
 */
export function decodePrivateKey(pem: string, passphrase: string | undefined, name: string): PrivateKeyHandle {
  oneBlock(pem, name);
  const encrypted = pem.includes('BEGIN ENCRYPTED PRIVATE KEY');
  if (!encrypted && !pem.includes('BEGIN PRIVATE KEY') && !pem.includes('BEGIN EC PRIVATE KEY')) {
    throw new CustodyError('ERR_KEY_PARSE', `${name}: not a PEM private key`, { file: name });
  }
  if (encrypted && passphrase === undefined) {
    throw new CustodyError('ERR_KEY_PASSPHRASE', `${name}: the key is encrypted; give --passphrase-file or set CUSTODY_PASSPHRASE`, { file: name });
  }
  // The derivation's cost is the file's to choose: bounded before OpenSSL runs it.
  if (encrypted) checkKeyKDF(readKeyKDF(encryptedKeyDER(pem, name), name), name);
  let ko: KeyObject;
  try {
    ko = createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase: passphrase! } : { key: pem, format: 'pem' });
  } catch (e) {
    if (encrypted) throw new CustodyError('ERR_KEY_PASSPHRASE', `${name}: wrong passphrase, or the key file is damaged`, { file: name, cause: e });
    throw new CustodyError('ERR_KEY_PARSE', `${name}: the private key cannot be read`, { file: name, cause: e });
  }
  return nodePrivateKeyHandle(ko);
}
