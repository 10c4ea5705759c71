/**
 * Just enough of an X.509 certificate for issuing under it and for recording it: raw subject and issuer Names,
 * SPKI, serial, validity, key identifiers. A projection of the one strict certificate parser,
 * `parseCertificate` (validation/certificate.ts), in the shape the issuing side and the app use.
 */
import { CustodyError } from '../errors.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import { curveOf, parseSPKI } from '../validation/algorithm-identifier.js';
import { nameAttributeList } from '../validation/name.js';

export interface CertificateInfo {
  der: Uint8Array;
  tbs: Uint8Array;
  serialHex: string;
  /** DER of the issuer Name. */
  issuer: Uint8Array;
  /** DER of the subject Name. */
  subject: Uint8Array;
  /** The subject as `ParsedName.text` renders it. */
  subjectText: string;
  issuerText: string;
  subjectAttributes: Array<[string, string]>;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  /** SubjectKeyIdentifier extension value, when present. */
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  isCA: boolean;
  extensions: Array<{ oid: string; critical: boolean; value: Uint8Array }>;
  /** The full parse this projection was made from. */
  parsed: ParsedCertificate;
}

/** The CertificateInfo view of a parsed certificate. */
export function certificateInfo(c: ParsedCertificate): CertificateInfo {
  const info: CertificateInfo = {
    der: c.der,
    tbs: c.tbs,
    serialHex: c.serialHex,
    issuer: c.issuer.der,
    subject: c.subject.der,
    subjectText: c.subject.text,
    issuerText: c.issuer.text,
    subjectAttributes: nameAttributeList(c.subject),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    spki: c.spki,
    isCA: c.basicConstraints?.cA ?? false,
    extensions: c.extensions.map((e) => ({ ...e })),
    parsed: c,
  };
  if (c.subjectKeyId) info.subjectKeyId = c.subjectKeyId;
  if (c.authorityKeyId?.keyIdentifier) info.authorityKeyId = c.authorityKeyId.keyIdentifier;
  return info;
}

/**
 * Reads a DER certificate.
 * @throws CustodyError ERR_CERT_PARSE on anything that is not a well-formed X.509 certificate (see `parseCertificate`)
 */
export function readCertificateInfo(der: Uint8Array): CertificateInfo {
  return certificateInfo(parseCertificate(der));
}

/**
 * The subjectPublicKey BIT STRING contents of a DER SubjectPublicKeyInfo.
 * @throws CustodyError ERR_KEY_PARSE when `spki` is not a well-formed SubjectPublicKeyInfo
 */
export function spkiPublicKeyBits(spki: Uint8Array): Uint8Array {
  return parseSPKI(spki).key;
}

/**
 * The curve of an EC SubjectPublicKeyInfo, or undefined for any other well-formed key.
 * @throws CustodyError ERR_KEY_PARSE when `spki` is not a well-formed SubjectPublicKeyInfo
 */
export function spkiCurve(spki: Uint8Array): 'P-256' | 'P-384' | undefined {
  try {
    return curveOf(parseSPKI(spki));
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_KEY_PARSE') throw e;
    throw new CustodyError('ERR_KEY_PARSE', `SubjectPublicKeyInfo: ${(e as Error).message}`, { cause: e });
  }
}
