/**
 * The few parts of a signer's X.509 certificate an attestation needs: issuer Name and serial (for an
 * issuerAndSerialNumber sid), the SubjectPublicKeyInfo, and the SubjectKeyIdentifier extension when present.
 * A projection of the one strict certificate parser, `parseCertificate`; chain validation of the certificate is
 * the verifier's business, not this file's.
 *
 * ```asn1
 * IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }   -- RFC 5652 10.2.4
 * SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING                                   -- RFC 5280 4.2.1.2
 * ```
 */
import { CustodyError } from '../errors.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import { equalBytes } from '../util/bytes.js';

/** The parts of a signer certificate used by attestations: views into a private copy of `der`, never written. */
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
  /** The full parse. */
  certificate: ParsedCertificate;
}

/**
 * The last few signer certificates parsed. A party signs thousands of attestations with one certificate, and a
 * bundle carries two or three signers, so a handful of entries catches nearly every repeat: a byte comparison
 * (a fraction of a microsecond) instead of a parse. Each entry parses a copy of the bytes it was given, since
 * callers' buffers may be reused (slabs, streams); parsed certificates are immutable, so sharing one is safe.
 */
const recent: ParsedCertificate[] = [];
const RECENT_MAX = 8;

function parseRecent(der: Uint8Array): ParsedCertificate {
  for (const c of recent) if (equalBytes(c.der, der)) return c;
  const c = parseCertificate(der.slice());
  if (recent.length === RECENT_MAX) recent.pop();
  recent.unshift(c);
  return c;
}

/**
 * Reads the parts of a DER certificate that attestations need.
 * @throws `code` (caller-chosen) when the bytes are not a certificate `parseCertificate` accepts, with its reason
 */
export function readSignerCertificate(der: Uint8Array, code: string): SignerCertificateParts {
  let c: ParsedCertificate;
  try {
    c = parseRecent(der);
  } catch (e) {
    if (!(e instanceof CustodyError)) throw e;
    throw new CustodyError(code, `signer certificate: ${e.message}`, { cause: e });
  }
  const out: SignerCertificateParts = { der, issuer: c.issuer.der, serial: c.serialDER, spki: c.spki, certificate: c };
  if (c.subjectKeyId) out.subjectKeyId = c.subjectKeyId;
  return out;
}
