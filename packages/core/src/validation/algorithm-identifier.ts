/**
 * AlgorithmIdentifier and SubjectPublicKeyInfo (RFC 5280 4.1.1.2, 4.1.2.7), read strictly:
 *
 *   AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY DEFINED BY algorithm OPTIONAL }
 *   SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
 *
 * Parameters: absent for ECDSA signatures (RFC 5758 3.2) and EdDSA (RFC 8410 3); a namedCurve OID for EC keys
 * (RFC 5480 2.1.1); otherwise NULL (empty), an OID or a SEQUENCE of well-formed DER. A key's BIT STRING has no
 * unused bits.
 */
import { CustodyError } from '../errors.js';
import { checkDER, children, readBitStringBytes, readOID, readOne, TAG, type TLV } from '../asn1/der.js';
import { OID } from '../asn1/oids.js';

/** `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }` */
export interface AlgorithmIdentifier {
  readonly oid: string;
  /** DER of the parameters, when present. */
  readonly params?: Uint8Array;
  readonly der: Uint8Array;
}

/** A decoded SubjectPublicKeyInfo: the whole DER, the algorithm and the key bits. */
export interface SubjectPublicKeyInfo {
  readonly der: Uint8Array;
  readonly algorithm: AlgorithmIdentifier;
  /** subjectPublicKey contents (for EC keys the uncompressed point). */
  readonly key: Uint8Array;
}

const ECDSA_ARC = '1.2.840.10045.4.';
const NO_PARAMS = new Set(['1.3.101.112', '1.3.101.113']);

/**
 * Decodes an AlgorithmIdentifier TLV; `code` names the caller's error code.
 * @throws CustodyError `code` on a malformed identifier or parameters its algorithm does not allow
 */
export function parseAlgorithmIdentifier(t: TLV, code = 'ERR_CERT_PARSE'): AlgorithmIdentifier {
  const bad = (what: string) => new CustodyError(code, `AlgorithmIdentifier: ${what}`);
  if (t.tag !== TAG.SEQUENCE) throw bad('not a SEQUENCE');
  const parts = children(t.value, 3);
  if (parts.length < 1 || parts.length > 2) throw bad('wrong number of fields');
  const oid = readOID(parts[0]!);
  const p = parts[1];
  if (!p) return { oid, der: t.raw };
  if (oid.startsWith(ECDSA_ARC) || NO_PARAMS.has(oid)) throw bad(`${oid} takes no parameters`);
  if (oid === OID.ecPublicKey && p.tag !== TAG.OID) throw bad('EC key parameters are not a namedCurve OID');
  if (p.tag === TAG.OID) readOID(p);
  else if (p.tag === TAG.NULL) {
    if (p.value.length !== 0) throw bad('NULL parameters with contents');
  } else if (p.tag === TAG.SEQUENCE) checkDER(p.value);
  else throw bad(`parameters with tag 0x${p.tag.toString(16)}`);
  return { oid, params: p.raw, der: t.raw };
}

/**
 * Decodes a SubjectPublicKeyInfo TLV; `code` names the caller's error code.
 * @throws CustodyError `code` on a malformed structure, algorithm or key BIT STRING
 */
export function parseSubjectPublicKeyInfo(t: TLV, code = 'ERR_CERT_PARSE'): SubjectPublicKeyInfo {
  if (t.tag !== TAG.SEQUENCE) throw new CustodyError(code, 'SubjectPublicKeyInfo is not a SEQUENCE');
  const parts = children(t.value, 3);
  if (parts.length !== 2) throw new CustodyError(code, 'SubjectPublicKeyInfo needs an algorithm and a key');
  const algorithm = parseAlgorithmIdentifier(parts[0]!, code);
  const key = readBitStringBytes(parts[1]!);
  if (key.length === 0) throw new CustodyError(code, 'SubjectPublicKeyInfo with an empty key');
  return { der: t.raw, algorithm, key };
}

/**
 * Decodes a whole DER SubjectPublicKeyInfo.
 * @throws CustodyError `code` (default ERR_KEY_PARSE) on anything else
 */
export function parseSPKI(der: Uint8Array, code = 'ERR_KEY_PARSE'): SubjectPublicKeyInfo {
  try {
    return parseSubjectPublicKeyInfo(readOne(der), code);
  } catch (e) {
    if (e instanceof CustodyError && e.code === code) throw e;
    throw new CustodyError(code, `SubjectPublicKeyInfo: ${(e as Error).message}`, { cause: e });
  }
}

/** The curve of an EC key on P-256 or P-384, or undefined for any other key. */
export function curveOf(spki: SubjectPublicKeyInfo): 'P-256' | 'P-384' | undefined {
  if (spki.algorithm.oid !== OID.ecPublicKey || !spki.algorithm.params) return undefined;
  const curve = readOID(readOne(spki.algorithm.params, TAG.OID));
  return curve === OID.prime256v1 ? 'P-256' : curve === OID.secp384r1 ? 'P-384' : undefined;
}
