/**
 * The cost a key file may ask of its reader. An encrypted PKCS#8 key names its own key derivation and its
 * parameters; OpenSSL then derives whatever count the file asks for, so a hostile key file (one swapped into a
 * store's keys/ folder, or handed to `agent respond --key`) could make a command spin for hours. The parameters are
 * read and bounded here, before any derivation.
 *
 *   EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
 *                                                                             (RFC 5958 section 3)
 *   PBES2-params  ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
 *   PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER, keyLength INTEGER OPTIONAL,
 *                                prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }         (RFC 8018 A.2, A.4)
 *   scrypt-params ::= SEQUENCE { salt OCTET STRING, costParameter INTEGER, blockSize INTEGER,
 *                                parallelizationParameter INTEGER, keyLength INTEGER OPTIONAL } (RFC 7914 7.1)
 *   PBEParameter  ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER }  (PBES1, RFC 8018 A.3; PKCS #12 PBE)
 */
import { CustodyError } from '@custody/core/errors';
import { checkDER, expectSeq, readIntegerBytes, readOID, readOne, TAG, type TLV } from '@custody/core/asn1';

/** PBKDF2 iteration counts a key file may name: RFC 8018's floor of 1,000, and at most 10,000,000 (about 8 s). */
export const KDF_ITERATIONS_MIN = 1000;
export const KDF_ITERATIONS_MAX = 10_000_000;
/** scrypt: N at least 2^10; memory (128 N r bytes) at most 64 MiB; p at most 16. */
export const SCRYPT_N_MIN = 1024;
export const SCRYPT_MEMORY_MAX = 64 * 1024 * 1024;
export const SCRYPT_P_MAX = 16;

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';
const SCRYPT = '1.3.6.1.4.1.11591.4.11';
/** PBES1 (RFC 8018 A.3) and PKCS #12 PBE (RFC 7292 appendix C) schemes: a salt and an iteration count each. */
const PBE_ITERATION_SCHEMES = /^1\.2\.840\.113549\.1\.(5\.(1|3|4|6|10|11)|12\.1\.[1-6])$/;

/**
 * The derivation a key file asks for. `own`: the parts of a key in the form custody writes (PBES2, PBKDF2 with a
 * named HMAC-SHA256 and no key length but 32, AES-256-CBC with a 16-byte IV), which custody can decrypt itself.
 */
export type KeyKDFParams =
  { kdf: 'pbkdf2'; iterations: number; own?: { salt: Uint8Array; iv: Uint8Array; encrypted: Uint8Array } } | { kdf: 'scrypt'; n: number; r: number; p: number };

const HMAC_SHA256 = '1.2.840.113549.2.9';
const AES_256_CBC = '2.16.840.1.101.3.4.1.42';

/** The PRF of PBKDF2-params' optional tail [keyLength] [prf]: its OID when the key length is absent or 32, else undefined. */
function prfOf(tail: TLV[]): string | undefined {
  const [first, second] = tail;
  if (!first) return undefined; // the default, HMAC-SHA1
  if (first.tag === TAG.INTEGER) {
    if (count(first) !== 32 || !second) return undefined;
    return prfOf([second]);
  }
  const [alg, params] = expectSeq(first, TAG.SEQUENCE, 1, 2);
  if (params !== undefined && (params.tag !== TAG.NULL || params.value.length !== 0)) return undefined;
  return readOID(alg!);
}

/** A non-negative INTEGER as a number, or Infinity past 2^48 (a count past every bound). */
function count(t: TLV): number {
  const v = readIntegerBytes(t);
  if (v[0]! & 0x80) throw new TypeError('a negative count');
  const magnitude = v[0] === 0 ? v.subarray(1) : v;
  if (magnitude.length > 6) return Infinity;
  let n = 0;
  for (const b of magnitude) n = n * 256 + b;
  return n;
}

/**
 * The salt, IV and ciphertext of a PBES2 key in custody's own form (see `KeyKDFParams`), given its PBKDF2-params'
 * elements, its encryption scheme and its encryptedData; undefined for any other form, however malformed (what
 * is not custody's form is OpenSSL's to read or refuse, as before).
 */
function ownForm(params: TLV[], enc: TLV, data: TLV): { salt: Uint8Array; iv: Uint8Array; encrypted: Uint8Array } | undefined {
  try {
    const [encOID, iv] = expectSeq(enc, TAG.SEQUENCE, 1, 2);
    if (prfOf(params.slice(2)) !== HMAC_SHA256 || readOID(encOID!) !== AES_256_CBC) return undefined;
    if (iv?.tag !== TAG.OCTET_STRING || iv.value.length !== 16 || data.tag !== TAG.OCTET_STRING) return undefined;
    return { salt: params[0]!.value, iv: iv.value, encrypted: data.value };
  } catch {
    return undefined;
  }
}

/**
 * The derivation an EncryptedPrivateKeyInfo's DER names.
 * @throws ERR_KEY_PARSE (not that structure), ERR_KEY_KDF (a scheme without a known derivation)
 */
export function readKeyKDF(der: Uint8Array, name: string): KeyKDFParams {
  try {
    checkDER(der);
    const [algorithm, data] = expectSeq(readOne(der, TAG.SEQUENCE), TAG.SEQUENCE, 2, 2);
    const [scheme, parameters] = expectSeq(algorithm!, TAG.SEQUENCE, 1, 2);
    let alg = readOID(scheme!);
    if (alg !== PBES2) {
      if (!PBE_ITERATION_SCHEMES.test(alg) || !parameters)
        throw new CustodyError('ERR_KEY_KDF', `${name}: the key is encrypted with ${alg}, not PBES2`, { file: name });
      const [salt, iterations] = expectSeq(parameters, TAG.SEQUENCE, 2, 2);
      if (salt!.tag !== TAG.OCTET_STRING) throw new TypeError('salt');
      return { kdf: 'pbkdf2', iterations: count(iterations!) };
    }
    const [kdf, enc] = expectSeq(parameters!, TAG.SEQUENCE, 2, 2);
    const [kdfOID, kdfParams] = expectSeq(kdf!, TAG.SEQUENCE, 2, 2);
    alg = readOID(kdfOID!);
    if (alg !== PBKDF2 && alg !== SCRYPT)
      throw new CustodyError('ERR_KEY_KDF', `${name}: the key's passphrase derivation ${alg} is not PBKDF2 or scrypt`, { file: name });
    const params = expectSeq(kdfParams!, TAG.SEQUENCE, alg === PBKDF2 ? 2 : 4, alg === PBKDF2 ? 4 : 5);
    if (params[0]!.tag !== TAG.OCTET_STRING) throw new TypeError('salt');
    if (alg === PBKDF2) {
      const iterations = count(params[1]!);
      const own = ownForm(params, enc!, data!);
      return own ? { kdf: 'pbkdf2', iterations, own } : { kdf: 'pbkdf2', iterations };
    }
    return { kdf: 'scrypt', n: count(params[1]!), r: count(params[2]!), p: count(params[3]!) };
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_KEY_KDF') throw e;
    throw new CustodyError('ERR_KEY_PARSE', `${name}: the encrypted key's parameters are malformed`, { file: name, cause: e });
  }
}

/**
 * Refuses a derivation outside the bounds above, before it is run.
 * @throws ERR_KEY_KDF naming the file, the parameter and the bound
 */
export function checkKeyKDF(p: KeyKDFParams, name: string): void {
  const refuse = (what: string) => new CustodyError('ERR_KEY_KDF', `${name}: ${what}; refused before deriving the key`, { file: name });
  if (p.kdf === 'pbkdf2') {
    if (p.iterations > KDF_ITERATIONS_MAX)
      throw refuse(`the key asks for ${p.iterations === Infinity ? 'more than 2^48' : p.iterations} PBKDF2 iterations, more than ${KDF_ITERATIONS_MAX}`);
    if (p.iterations < KDF_ITERATIONS_MIN) throw refuse(`the key is protected by only ${p.iterations} PBKDF2 iterations, fewer than ${KDF_ITERATIONS_MIN}`);
    return;
  }
  if (p.n < SCRYPT_N_MIN) throw refuse(`the key's scrypt cost N=${p.n} is below ${SCRYPT_N_MIN}`);
  if (p.r < 1 || p.p < 1 || p.p > SCRYPT_P_MAX || 128 * p.n * p.r > SCRYPT_MEMORY_MAX)
    throw refuse(`the key's scrypt parameters (N=${p.n}, r=${p.r}, p=${p.p}) ask for more than ${SCRYPT_MEMORY_MAX / 1024 / 1024} MiB or p > ${SCRYPT_P_MAX}`);
}
