/**
 * The few parts of a signer's X.509 certificate an attestation needs: issuer Name and serial (for an
 * issuerAndSerialNumber sid), the SubjectPublicKeyInfo, and the SubjectKeyIdentifier extension when present.
 * Chain validation of the certificate is the verifier's business, not this file's.
 *
 * ```asn1
 * Certificate  ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, serialNumber INTEGER, signature,
 *     issuer Name, validity, subject Name, subjectPublicKeyInfo, issuerUniqueID [1] OPTIONAL,
 *     subjectUniqueID [2] OPTIONAL, extensions [3] EXPLICIT Extensions OPTIONAL }      -- RFC 5280 4.1
 * SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING                            -- RFC 5280 4.2.1.2
 * ```
 */
import { OID } from '../asn1/oids.js';
import { expectSeq, readIntegerBytes, readOne, TAG } from '../asn1/der.js';
import { CustodyError } from '../errors.js';
import { readOIDCached } from './oid-cache.js';

/** The parts of a signer certificate used by attestations; every field is a view into `der`. */
export interface SignerCertificateParts {
  der: Uint8Array;
  /** The whole issuer Name TLV. */
  issuer: Uint8Array;
  /** The whole serialNumber INTEGER TLV. */
  serial: Uint8Array;
  /** The whole SubjectPublicKeyInfo TLV. */
  spki: Uint8Array;
  /** SubjectKeyIdentifier extension contents (the key identifier bytes), when present. */
  subjectKeyId?: Uint8Array;
}

const SKI_OID = OID.subjectKeyIdentifier;

/**
 * Reads the parts of a DER certificate that attestations need.
 * @throws `code` (caller-chosen) when the bytes are not a certificate of the RFC 5280 shape
 */
export function readSignerCertificate(der: Uint8Array, code: string): SignerCertificateParts {
  try {
    const [tbs] = expectSeq(readOne(der, TAG.SEQUENCE), TAG.SEQUENCE, 3, 3);
    const f = expectSeq(tbs!, TAG.SEQUENCE, 6, 10);
    const i = f[0]!.tag === 0xa0 ? 1 : 0;
    const serial = f[i]!;
    readIntegerBytes(serial);
    const issuer = f[i + 2]!;
    const spki = f[i + 5]!;
    if (issuer.tag !== TAG.SEQUENCE || f[i + 4]!.tag !== TAG.SEQUENCE || spki?.tag !== TAG.SEQUENCE) throw new Error('unexpected tbsCertificate layout');
    const out: SignerCertificateParts = { der, issuer: issuer.raw, serial: serial.raw, spki: spki.raw };
    const extField = f.slice(i + 6).find((t) => t.tag === 0xa3);
    if (extField) {
      const [exts] = expectSeq(extField, 0xa3, 1, 1);
      for (const ext of expectSeq(exts!, TAG.SEQUENCE, 1)) {
        const parts = expectSeq(ext, TAG.SEQUENCE, 2, 3);
        if (readOIDCached(parts[0]!) !== SKI_OID) continue;
        const value = parts[parts.length - 1]!;
        if (value.tag !== TAG.OCTET_STRING) throw new Error('extension value is not an OCTET STRING');
        out.subjectKeyId = readOne(value.value, TAG.OCTET_STRING).value;
      }
    }
    return out;
  } catch (e) {
    if (e instanceof CustodyError && e.code === code) throw e;
    throw new CustodyError(code, `signer certificate: ${(e as Error).message}`, { cause: e });
  }
}
