/**
 * IMA v2 file signatures, the value of the `security.ima` extended attribute that the Linux kernel appraises and
 * that `evmctl ima_verify --sigfile` reads from `FILE.sig` (ima-evm-utils, src/imaevm.h):
 *
 * ```c
 * uint8_t type;                 // EVM_IMA_XATTR_DIGSIG = 3
 * struct signature_v2_hdr {     // __packed
 *   uint8_t  version;           // DIGSIG_VERSION_2 = 2
 *   uint8_t  hash_algo;         // enum pkey_hash_algo: 4 SHA-256, 5 SHA-384
 *   uint32_t keyid;             // network order: the last 4 bytes of SHA-1(subjectPublicKey bits)
 *   uint16_t sig_size;          // big-endian
 *   uint8_t  sig[];             // for an EC key: DER Ecdsa-Sig-Value over the file digest
 * };
 * ```
 *
 * The key id is what ima-evm-utils' `calc_keyid_v2` computes for the key it is given (`X509_PUBKEY_get0_param`
 * yields the subjectPublicKey BIT STRING contents, for an EC key the point 04 || X || Y; SHA-1 of that; bytes 16
 * to 19). The kernel instead finds the key by the last 4 bytes of the certificate's subjectKeyIdentifier: the two
 * agree for a certificate whose SKI is RFC 5280 method 1 (SHA-1 of the same bits). The signature is ECDSA over the
 * file's digest, which is what `CryptoProvider.sign` computes over the file's bytes with the curve's hash.
 */
import { ecdsaDERToP1363, ecdsaP1363ToDER } from '../crypto/ecdsa-signature.js';
import type { CryptoProvider, CurveName, HashName, PrivateKeyHandle } from '../crypto/provider.js';
import { curveHash } from '../crypto/provider.js';
import { CustodyError } from '../errors.js';
import { equalBytes } from '../util/bytes.js';
import { sha1 } from '../util/sha1.js';
import { spkiCurve, spkiPublicKeyBits } from '../x509/certificate-info.js';

/** `EVM_IMA_XATTR_DIGSIG`: the xattr holds a signature. */
export const IMA_XATTR_DIGSIG = 3;
/** `DIGSIG_VERSION_2`. */
export const IMA_DIGSIG_VERSION_2 = 2;
/** ima-evm-utils' `enum pkey_hash_algo` values custody writes and reads. */
export const IMA_HASH_ALGO: Readonly<Record<HashName, number>> = { 'SHA-256': 4, 'SHA-384': 5 };
/** Header bytes before the signature: type, version, hash_algo, keyid (4), sig_size (2). */
export const IMA_HEADER_LENGTH = 9;

/** An IMA v2 signature taken apart. */
export interface ImaSignature {
  hash: HashName;
  /** The 4-byte key identifier, as stored (network order). */
  keyId: Uint8Array;
  /** DER Ecdsa-Sig-Value. */
  signature: Uint8Array;
}

function malformed(what: string): CustodyError {
  return new CustodyError('ERR_CODE_IMA_MALFORMED', `IMA signature: ${what}`);
}

/**
 * The IMA key id of a public key: the last 4 bytes of the SHA-1 of its subjectPublicKey bits (ima-evm-utils
 * `calc_keyid_v2`).
 * @throws ERR_KEY_PARSE when `spki` is not a SubjectPublicKeyInfo
 */
export function imaKeyId(spki: Uint8Array): Uint8Array {
  return sha1(spkiPublicKeyBits(spki)).slice(16, 20);
}

/** The `security.ima` value (the bytes of `FILE.sig`) for a parsed signature. */
export function encodeImaSignature(sig: ImaSignature): Uint8Array {
  if (sig.keyId.length !== 4) throw new TypeError('an IMA key id is 4 bytes');
  if (sig.signature.length > 0xffff) throw new TypeError('signature too long for sig_size');
  const out = new Uint8Array(IMA_HEADER_LENGTH + sig.signature.length);
  out[0] = IMA_XATTR_DIGSIG;
  out[1] = IMA_DIGSIG_VERSION_2;
  out[2] = IMA_HASH_ALGO[sig.hash];
  out.set(sig.keyId, 3);
  out[7] = sig.signature.length >>> 8;
  out[8] = sig.signature.length & 0xff;
  out.set(sig.signature, IMA_HEADER_LENGTH);
  return out;
}

/**
 * Strict parse of an IMA v2 signature with an ECDSA signature on P-256 (SHA-256) or P-384 (SHA-384): exactly
 * the header and `sig_size` bytes, nothing after.
 * @throws ERR_CODE_IMA_MALFORMED naming what is wrong
 */
export function parseImaSignature(bytes: Uint8Array): ImaSignature {
  if (bytes.length < IMA_HEADER_LENGTH) throw malformed(`${bytes.length} bytes, shorter than the ${IMA_HEADER_LENGTH}-byte header`);
  if (bytes[0] !== IMA_XATTR_DIGSIG) throw malformed(`type ${bytes[0]} is not EVM_IMA_XATTR_DIGSIG (3)`);
  if (bytes[1] !== IMA_DIGSIG_VERSION_2) throw malformed(`version ${bytes[1]} is not 2`);
  const hash = (Object.keys(IMA_HASH_ALGO) as HashName[]).find((h) => IMA_HASH_ALGO[h] === bytes[2]);
  if (!hash) throw malformed(`hash_algo ${bytes[2]} is neither SHA-256 (4) nor SHA-384 (5)`);
  const size = (bytes[7]! << 8) | bytes[8]!;
  if (size !== bytes.length - IMA_HEADER_LENGTH) throw malformed(`sig_size is ${size}, but ${bytes.length - IMA_HEADER_LENGTH} bytes follow the header`);
  const signature = bytes.slice(IMA_HEADER_LENGTH);
  try {
    ecdsaDERToP1363(signature, hash === 'SHA-256' ? 'P-256' : 'P-384');
  } catch {
    throw malformed(`the signature is not a DER ECDSA signature on ${hash === 'SHA-256' ? 'P-256' : 'P-384'}`);
  }
  return { hash, keyId: bytes.slice(3, 7), signature };
}

/**
 * Signs a file's bytes into an IMA v2 signature with the key's curve hash (P-256: SHA-256, P-384: SHA-384).
 * Works with any provider, and with keys that sign by themselves (a PKCS#11 token).
 */
export async function signImaFile(content: Uint8Array, key: PrivateKeyHandle, provider: CryptoProvider): Promise<Uint8Array> {
  const p1363 = await provider.sign(key, content);
  return encodeImaSignature({ hash: curveHash(key.curve), keyId: imaKeyId(key.spki), signature: ecdsaP1363ToDER(p1363) });
}

/**
 * Checks an IMA v2 signature of a file's bytes with a public key (SPKI DER): the key id and the ECDSA signature.
 * Whether the key is trusted is the caller's check (the kernel's keyring, or a code verifier).
 * @throws ERR_CODE_IMA_MALFORMED; ERR_CODE_SIGNATURE when the key id or the signature does not match the key
 */
export async function verifyImaSignature(content: Uint8Array, signature: Uint8Array, spki: Uint8Array, provider: CryptoProvider): Promise<ImaSignature> {
  const sig = parseImaSignature(signature);
  const curve: CurveName | undefined = spkiCurve(spki);
  if (!curve || curveHash(curve) !== sig.hash)
    throw new CustodyError('ERR_CODE_SIGNATURE', `IMA signature: made with ${sig.hash}, which is not the hash of this key's curve`);
  if (!equalBytes(sig.keyId, imaKeyId(spki))) throw new CustodyError('ERR_CODE_SIGNATURE', 'IMA signature: its key id does not name this key');
  const key = await provider.importPublicKey(spki);
  if (!(await provider.verify(key, content, ecdsaDERToP1363(sig.signature, curve))))
    throw new CustodyError('ERR_CODE_SIGNATURE', 'IMA signature: the signature does not verify over this file with this key');
  return sig;
}
