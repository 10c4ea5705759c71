/**
 * `readOID` with a fast path: an attestation parse reads about a dozen OIDs, all from a short list known in
 * advance, and building each dotted string again costs more than the rest of the DER walk. Known encodings are
 * matched byte for byte; anything else goes through `readOID`.
 */
import { OID } from '../asn1/oids.js';
import { oid, readOID, TAG, type TLV } from '../asn1/der.js';

const KNOWN: ReadonlyArray<[Uint8Array, string]> = [
  OID.signedData,
  OID.data,
  OID.contentType,
  OID.messageDigest,
  OID.signingTime,
  OID.sha256,
  OID.sha384,
  OID.ecdsaWithSHA256,
  OID.ecdsaWithSHA384,
  OID.ecPublicKey,
  OID.prime256v1,
  OID.secp384r1,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.basicConstraints,
].map((d) => [oid(d).subarray(2), d]);

/** Dotted form of the OBJECT IDENTIFIER `t`; throws ERR_DER as `readOID` does. */
export function readOIDCached(t: TLV): string {
  if (t.tag === TAG.OID) {
    const v = t.value;
    outer: for (const [bytes, dotted] of KNOWN) {
      if (bytes.length !== v.length) continue;
      for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] !== v[i]) continue outer;
      return dotted;
    }
  }
  return readOID(t);
}
