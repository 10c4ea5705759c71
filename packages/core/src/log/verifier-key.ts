/**
 * Log verifier keys in the note verifier-key form `<name>+<hex key ID>+<base64(type || public key)>`.
 *
 * custody's log keys are ECDSA P-256, so they use signature type 0x02, which c2sp.org/signed-note assigns to
 * "ECDSA signatures as implemented by github.com/transparency-dev/witness" (also what Sigstore Rekor's
 * checkpoints use): the public key is the DER SubjectPublicKeyInfo, the signature is DER `Ecdsa-Sig-Value` over
 * SHA-256 of the note text, and, unlike the spec's general recommendation, the key ID is the first four bytes
 * of SHA-256(SPKI DER) alone, without the key name or type byte. Following that assignment keeps our
 * checkpoints verifiable by transparency-dev/formats' note verifiers.
 */
import { quoteBounded } from '../util/strict-json.js';
import { logError } from './log-errors.js';
import { isNoteKeyName } from './signed-note.js';
import { readOne, TAG } from '../asn1/der.js';
import { concatBytes, fromBase64, toBase64 } from '../util/bytes.js';
import { sha256 } from '../util/sha256.js';

/** The signed-note signature type of ECDSA with SHA-256 (c2sp.org/signed-note, "Signature types"). */
export const NOTE_SIGNATURE_TYPE_ECDSA = 0x02;

/** A trusted log key: its name in signature lines, its key ID, its DER SubjectPublicKeyInfo. */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly spki: Uint8Array;
}

function bad(why: string, cause?: unknown): Error {
  return logError('ERR_LOG_VERIFIER_KEY', `verifier key: ${why}`, cause);
}

/** The type 0x02 key ID: the first four bytes of SHA-256(SPKI DER), as a big-endian uint32. */
export function ecdsaNoteKeyId(spki: Uint8Array): number {
  const d = sha256(spki);
  return new DataView(d.buffer, d.byteOffset, 4).getUint32(0);
}

/**
 * The verifier key of `spki` under `name`.
 * @throws CustodyError ERR_LOG_VERIFIER_KEY when the name is not a valid note key name or `spki` is not one DER
 * SEQUENCE (the curve is checked when the key is imported, in `verifyCheckpoint`).
 */
export function createVerifierKey(name: string, spki: Uint8Array): VerifierKey {
  if (!isNoteKeyName(name)) throw bad(`invalid key name ${quoteBounded(name)} (empty, or a space or "+" in it)`);
  try {
    readOne(spki, TAG.SEQUENCE);
  } catch (e) {
    throw bad(`${quoteBounded(name)}: the public key is not a DER SubjectPublicKeyInfo`, e);
  }
  return { name, keyId: ecdsaNoteKeyId(spki), spki };
}

/**
 * `<name>+<8 hex digits>+<base64(0x02 || SPKI DER)>`.
 * @throws CustodyError ERR_LOG_VERIFIER_KEY as `createVerifierKey`, or when `key.keyId` is not the key's ID.
 */
export function encodeVerifierKey(key: VerifierKey): string {
  const checked = createVerifierKey(key.name, key.spki);
  if (checked.keyId !== key.keyId) throw bad(`${key.name}: key ID ${key.keyId} is not that of its public key`);
  const id = checked.keyId.toString(16).padStart(8, '0');
  return `${key.name}+${id}+${toBase64(concatBytes(Uint8Array.of(NOTE_SIGNATURE_TYPE_ECDSA), key.spki))}`;
}

/**
 * Parses a verifier key string strictly: name, key ID and key separated by the first two `+`, exactly 8 lower-case hex digits, canonical
 * base64, type 0x02, a key ID that matches the key.
 * @throws CustodyError ERR_LOG_VERIFIER_KEY on any deviation.
 */
export function parseVerifierKey(text: string): VerifierKey {
  // The base64 key may itself hold '+': only the first two separate fields.
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw bad('expected <name>+<key ID>+<key>');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const b64 = text.slice(second + 1);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw bad(`${quoteBounded(name)}: key ID ${quoteBounded(idHex)} is not 8 lower-case hex digits`);
  const bytes = fromBase64(b64);
  if (bytes === undefined || bytes.length < 2) throw bad(`${quoteBounded(name)}: the key is not canonical base64`);
  if (bytes[0] !== NOTE_SIGNATURE_TYPE_ECDSA) throw bad(`${quoteBounded(name)}: signature type 0x${bytes[0]!.toString(16)} is not ECDSA (0x02)`);
  const key = createVerifierKey(name, bytes.slice(1));
  if (key.keyId !== parseInt(idHex, 16)) throw bad(`${quoteBounded(name)}: key ID ${idHex} does not match the key`);
  return key;
}
