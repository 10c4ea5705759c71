/**
 * A parsed X.509 v3 certificate (RFC 5280 4.1), read with the strict DER reader:
 *
 *   Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm AlgorithmIdentifier,
 *                              signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, serialNumber INTEGER,
 *     signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name,
 *     subjectPublicKeyInfo SubjectPublicKeyInfo, issuerUniqueID [1] IMPLICIT OPTIONAL,
 *     subjectUniqueID [2] IMPLICIT OPTIONAL, extensions [3] EXPLICIT Extensions OPTIONAL }
 *
 * Parsing checks encodings; profile rules (critical flags, serial size, non-empty names) are path checks, so that a
 * report can name them.
 */
import { CustodyError } from '../errors.js';
import { children, readBitStringBytes, readIntegerBytes, readOID, readOne, readSmallInt, readTime, TAG, type TLV } from '../asn1/der.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { OID } from '../asn1/oids.js';
import { parseName, namesEqual, type ParsedName } from './name.js';
import type { GeneralName } from './general-name.js';
import {
  parseAuthorityInfoAccess,
  parseAuthorityKeyIdentifier,
  parseBasicConstraints,
  parseCertificatePolicies,
  parseExtKeyUsage,
  parseExtensions,
  parseKeyUsage,
  parseNameConstraints,
  parseSubjectAltName,
  parseSubjectKeyIdentifier,
  type AuthorityKeyIdentifier,
  type BasicConstraints,
  type Extension,
  type KeyUsageName,
  type NameConstraints,
} from './extensions.js';

/** `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }` */
export interface AlgorithmIdentifier {
  readonly oid: string;
  /** DER of the parameters, when present. */
  readonly params?: Uint8Array;
  readonly der: Uint8Array;
}

/** A decoded certificate: raw parts for signature checks, decoded fields for path validation. */
export interface ParsedCertificate {
  readonly der: Uint8Array;
  /** DER of tbsCertificate: the signed bytes. */
  readonly tbs: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  /** Serial number content octets as encoded (two's complement). */
  readonly serial: Uint8Array;
  readonly serialHex: string;
  /** signatureAlgorithm of the outer Certificate. */
  readonly signatureAlgorithm: AlgorithmIdentifier;
  /** signature field inside tbsCertificate (must equal signatureAlgorithm, RFC 5280 4.1.1.2). */
  readonly tbsSignatureAlgorithm: AlgorithmIdentifier;
  /** signatureValue bits (DER Ecdsa-Sig-Value for ECDSA). */
  readonly signature: Uint8Array;
  readonly issuer: ParsedName;
  readonly subject: ParsedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly publicKeyAlgorithm: AlgorithmIdentifier;
  readonly extensions: readonly Extension[];
  readonly basicConstraints?: BasicConstraints;
  readonly keyUsage?: ReadonlySet<KeyUsageName>;
  readonly extKeyUsage?: readonly string[];
  readonly subjectKeyId?: Uint8Array;
  readonly authorityKeyId?: AuthorityKeyIdentifier;
  readonly subjectAltName?: readonly GeneralName[];
  readonly nameConstraints?: NameConstraints;
  readonly certificatePolicies?: readonly string[];
  /** Issuer and subject are equal names (RFC 5280 6.1: self-issued). */
  readonly selfIssued: boolean;
  /** Lower-case hex of the DER: a stable identity for caches and loop detection. */
  readonly id: string;
}

function bad(what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_CERT_PARSE', `certificate: ${what}`, cause === undefined ? {} : { cause });
}

/** Decodes an AlgorithmIdentifier TLV. */
export function parseAlgorithmIdentifier(t: TLV): AlgorithmIdentifier {
  if (t.tag !== TAG.SEQUENCE) throw bad('AlgorithmIdentifier is not a SEQUENCE');
  const parts = children(t.value);
  if (parts.length < 1 || parts.length > 2) throw bad('AlgorithmIdentifier has the wrong number of fields');
  const oid = readOID(parts[0]!);
  return parts[1] ? { oid, params: parts[1].raw, der: t.raw } : { oid, der: t.raw };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function decodeExtension(out: Mutable<Partial<ParsedCertificate>>, e: Extension): void {
  switch (e.oid) {
    case OID.basicConstraints:
      out.basicConstraints = parseBasicConstraints(e.value);
      break;
    case OID.keyUsage:
      out.keyUsage = parseKeyUsage(e.value);
      break;
    case OID.extKeyUsage:
      out.extKeyUsage = parseExtKeyUsage(e.value);
      break;
    case OID.subjectKeyIdentifier:
      out.subjectKeyId = parseSubjectKeyIdentifier(e.value);
      break;
    case OID.authorityKeyIdentifier:
      out.authorityKeyId = parseAuthorityKeyIdentifier(e.value);
      break;
    case OID.subjectAltName:
      out.subjectAltName = parseSubjectAltName(e.value);
      break;
    case OID.nameConstraints:
      out.nameConstraints = parseNameConstraints(e.value);
      break;
    case OID.certificatePolicies:
      out.certificatePolicies = parseCertificatePolicies(e.value);
      break;
    case OID.authorityInfoAccess:
      parseAuthorityInfoAccess(e.value);
      break;
    default:
      break;
  }
}

/**
 * Parses a DER certificate.
 * @throws CustodyError ERR_CERT_PARSE on any malformed field, duplicate extension or undecodable known extension.
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  try {
    return parseStrict(der);
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_CERT_PARSE') throw e;
    throw bad((e as Error).message, e);
  }
}

function parseStrict(der: Uint8Array): ParsedCertificate {
  const outer = children(readOne(der, TAG.SEQUENCE).value);
  if (outer.length !== 3) throw bad('Certificate needs three fields');
  const [tbsT, algT, sigT] = outer as [TLV, TLV, TLV];
  if (tbsT.tag !== TAG.SEQUENCE) throw bad('tbsCertificate is not a SEQUENCE');
  const signatureAlgorithm = parseAlgorithmIdentifier(algT);
  const signature = readBitStringBytes(sigT);
  const f = children(tbsT.value);
  let i = 0;
  let version = 1;
  if (f[i]?.tag === 0xa0) {
    version = readSmallInt(readOne(f[i]!.value, TAG.INTEGER)) + 1;
    if (version === 1) throw bad('explicit v1 version must be omitted in DER');
    if (version > 3) throw bad(`unknown version ${version}`);
    i++;
  }
  const need = (what: string): TLV => {
    const t = f[i++];
    if (!t) throw bad(`missing ${what}`);
    return t;
  };
  const serial = readIntegerBytes(need('serialNumber'));
  const tbsSignatureAlgorithm = parseAlgorithmIdentifier(need('signature'));
  const issuerT = need('issuer');
  const validity = need('validity');
  const subjectT = need('subject');
  const spkiT = need('subjectPublicKeyInfo');
  const times = children(validity.value);
  if (validity.tag !== TAG.SEQUENCE || times.length !== 2) throw bad('bad Validity');
  const notBefore = readTime(times[0]!);
  const notAfter = readTime(times[1]!);
  if (spkiT.tag !== TAG.SEQUENCE) throw bad('SubjectPublicKeyInfo is not a SEQUENCE');
  const spkiParts = children(spkiT.value);
  if (spkiParts.length !== 2) throw bad('bad SubjectPublicKeyInfo');
  const publicKeyAlgorithm = parseAlgorithmIdentifier(spkiParts[0]!);
  if (spkiParts[1]!.tag !== TAG.BIT_STRING) throw bad('subjectPublicKey is not a BIT STRING');
  if (f[i]?.tag === 0x81) {
    if (version < 2) throw bad('issuerUniqueID needs v2 or v3');
    i++;
  }
  if (f[i]?.tag === 0x82) {
    if (version < 2) throw bad('subjectUniqueID needs v2 or v3');
    i++;
  }
  let extensions: Extension[] = [];
  if (f[i]?.tag === 0xa3) {
    if (version !== 3) throw bad('extensions need v3');
    extensions = parseExtensions(readOne(f[i]!.value));
    i++;
  }
  if (i !== f.length) throw bad('unexpected fields in tbsCertificate');
  const issuer = parseName(issuerT.raw);
  const subject = parseName(subjectT.raw);
  const out: Mutable<Partial<ParsedCertificate>> = {
    der,
    tbs: tbsT.raw,
    version,
    serial,
    serialHex: toHex(serial),
    signatureAlgorithm,
    tbsSignatureAlgorithm,
    signature,
    issuer,
    subject,
    notBefore,
    notAfter,
    spki: spkiT.raw,
    publicKeyAlgorithm,
    extensions,
    selfIssued: namesEqual(issuer, subject),
    id: toHex(der),
  };
  for (const e of extensions) {
    try {
      decodeExtension(out, e);
    } catch (err) {
      throw bad(`extension ${e.oid}: ${(err as Error).message}`, err);
    }
  }
  return out as ParsedCertificate;
}

/** The extension with `oid`, if the certificate has it. */
export function findExtension(cert: ParsedCertificate, oid: string): Extension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

/** True when the certificate looks self-signed: self-issued and its AKI, if any, names its own key. */
export function isSelfSigned(cert: ParsedCertificate): boolean {
  if (!cert.selfIssued) return false;
  const aki = cert.authorityKeyId?.keyIdentifier;
  if (aki && cert.subjectKeyId) return equalBytes(aki, cert.subjectKeyId);
  return true;
}
