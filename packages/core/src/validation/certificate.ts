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
import { children, readBitStringBytes, readIntegerBytes, readOne, readSmallInt, readTime, TAG, type TLV } from '../asn1/der.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { OID } from '../asn1/oids.js';
import { parseName, namesEqual, type ParsedName } from './name.js';
import type { GeneralName } from './general-name.js';
import {
  parseAlgorithmIdentifier as parseAlgorithm,
  parseSubjectPublicKeyInfo,
  type AlgorithmIdentifier,
  type SubjectPublicKeyInfo,
} from './algorithm-identifier.js';
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

export type { AlgorithmIdentifier } from './algorithm-identifier.js';

/** A decoded certificate: raw parts for signature checks, decoded fields for path validation. */
export interface ParsedCertificate {
  readonly der: Uint8Array;
  /** DER of tbsCertificate: the signed bytes. */
  readonly tbs: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  /** Serial number content octets as encoded (two's complement). */
  readonly serial: Uint8Array;
  /** The whole serialNumber INTEGER TLV (for a CMS issuerAndSerialNumber). */
  readonly serialDER: Uint8Array;
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
  /** subjectPublicKey contents. */
  readonly publicKey: Uint8Array;
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

/**
 * Decodes an AlgorithmIdentifier TLV.
 * @throws CustodyError ERR_CERT_PARSE on a malformed identifier or parameters its algorithm does not allow
 */
export function parseAlgorithmIdentifier(t: TLV): AlgorithmIdentifier {
  return parseAlgorithm(t);
}

/** Largest certificate accepted: far above any real one, small enough that a hostile file costs nothing. */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;

/**
 * Parses a DER certificate strictly: every field, both names and every extension custody processes are decoded
 * here, so that a certificate either parses whole or not at all. Hex forms and name renderings are made on
 * first use.
 * @throws CustodyError ERR_CERT_PARSE on any malformed field, duplicate extension or undecodable known extension,
 *   or more than `MAX_CERTIFICATE_BYTES`
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  try {
    if (der.length > MAX_CERTIFICATE_BYTES) throw bad(`larger than ${MAX_CERTIFICATE_BYTES} bytes`);
    return parseStrict(der);
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_CERT_PARSE') throw e;
    throw bad((e as Error).message, e);
  }
}

class Certificate implements ParsedCertificate {
  #serialHex?: string;
  #id?: string;
  #selfIssued?: boolean;
  basicConstraints?: BasicConstraints;
  keyUsage?: ReadonlySet<KeyUsageName>;
  extKeyUsage?: readonly string[];
  subjectKeyId?: Uint8Array;
  authorityKeyId?: AuthorityKeyIdentifier;
  subjectAltName?: readonly GeneralName[];
  nameConstraints?: NameConstraints;
  certificatePolicies?: readonly string[];

  constructor(
    readonly der: Uint8Array,
    readonly tbs: Uint8Array,
    readonly version: number,
    readonly serialDER: Uint8Array,
    readonly serial: Uint8Array,
    readonly signatureAlgorithm: AlgorithmIdentifier,
    readonly tbsSignatureAlgorithm: AlgorithmIdentifier,
    readonly signature: Uint8Array,
    readonly issuer: ParsedName,
    readonly subject: ParsedName,
    readonly notBefore: Date,
    readonly notAfter: Date,
    spki: SubjectPublicKeyInfo,
    readonly extensions: readonly Extension[],
  ) {
    this.spki = spki.der;
    this.publicKey = spki.key;
    this.publicKeyAlgorithm = spki.algorithm;
  }

  readonly spki: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly publicKeyAlgorithm: AlgorithmIdentifier;

  get serialHex(): string {
    return (this.#serialHex ??= toHex(this.serial));
  }

  get id(): string {
    return (this.#id ??= toHex(this.der));
  }

  get selfIssued(): boolean {
    return (this.#selfIssued ??= namesEqual(this.issuer, this.subject));
  }
}

function decodeExtension(out: Certificate, e: Extension): void {
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

function parseStrict(der: Uint8Array): ParsedCertificate {
  const outer = children(readOne(der, TAG.SEQUENCE).value, 4);
  if (outer.length !== 3) throw bad('Certificate needs three fields');
  const [tbsT, algT, sigT] = outer as [TLV, TLV, TLV];
  if (tbsT.tag !== TAG.SEQUENCE) throw bad('tbsCertificate is not a SEQUENCE');
  const signatureAlgorithm = parseAlgorithmIdentifier(algT);
  const signature = readBitStringBytes(sigT);
  const f = children(tbsT.value, 11);
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
  const serialT = need('serialNumber');
  const serial = readIntegerBytes(serialT);
  const tbsSignatureAlgorithm = parseAlgorithmIdentifier(need('signature'));
  const issuerT = need('issuer');
  const validity = need('validity');
  const subjectT = need('subject');
  const spkiT = need('subjectPublicKeyInfo');
  if (validity.tag !== TAG.SEQUENCE) throw bad('Validity is not a SEQUENCE');
  const times = children(validity.value, 3);
  if (times.length !== 2) throw bad('bad Validity');
  const notBefore = readTime(times[0]!);
  const notAfter = readTime(times[1]!);
  const spki = parseSubjectPublicKeyInfo(spkiT);
  for (const [tag, what] of [
    [0x81, 'issuerUniqueID'],
    [0x82, 'subjectUniqueID'],
  ] as const) {
    if (f[i]?.tag !== tag) continue;
    if (version < 2) throw bad(`${what} needs v2 or v3`);
    const v = f[i]!.value;
    if (v.length === 0 || v[0]! > 7 || (v.length === 1 && v[0] !== 0)) throw bad(`bad ${what}`);
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
  const out = new Certificate(
    der,
    tbsT.raw,
    version,
    serialT.raw,
    serial,
    signatureAlgorithm,
    tbsSignatureAlgorithm,
    signature,
    issuer,
    subject,
    notBefore,
    notAfter,
    spki,
    extensions,
  );
  for (const e of extensions) {
    try {
      decodeExtension(out, e);
    } catch (err) {
      throw bad(`extension ${e.oid}: ${(err as Error).message}`, err);
    }
  }
  return out;
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
