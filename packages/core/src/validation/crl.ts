/**
 * A parsed X.509 v2 CRL (RFC 5280 5.1):
 *
 *   CertificateList ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm AlgorithmIdentifier,
 *                                  signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version Version OPTIONAL, signature AlgorithmIdentifier, issuer Name,
 *     thisUpdate Time, nextUpdate Time OPTIONAL,
 *     revokedCertificates SEQUENCE OF SEQUENCE { userCertificate CertificateSerialNumber, revocationDate Time,
 *                                                crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
 *     crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */
import { CustodyError } from '../errors.js';
import { children, readBitStringBytes, readIntegerBytes, readOne, readSmallInt, readTime, TAG, type TLV } from '../asn1/der.js';
import { toHex } from '../util/bytes.js';
import { parseAlgorithmIdentifier, type AlgorithmIdentifier } from './certificate.js';
import { parseExtensions, parseAuthorityKeyIdentifier, type AuthorityKeyIdentifier, type Extension } from './extensions.js';
import { parseName, type ParsedName } from './name.js';

/** One revokedCertificates entry. */
export interface RevokedEntry {
  readonly serialHex: string;
  readonly revocationDate: Date;
  readonly extensions: readonly Extension[];
}

/** A decoded CRL: raw parts for the signature check, decoded fields for revocation checking. */
export interface ParsedCRL {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly version: number;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly tbsSignatureAlgorithm: AlgorithmIdentifier;
  readonly signature: Uint8Array;
  readonly issuer: ParsedName;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /** Revoked serials, keyed by the hex of their content octets. */
  readonly revoked: ReadonlyMap<string, RevokedEntry>;
  readonly extensions: readonly Extension[];
  readonly authorityKeyId?: AuthorityKeyIdentifier;
  /** CRLNumber content octets, when present. */
  readonly crlNumber?: Uint8Array;
}

function bad(what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_CRL_PARSE', `CRL: ${what}`, cause === undefined ? {} : { cause });
}

/** Most revoked entries read from one CRL: a bound on memory, far above what a device PKI revokes. */
export const MAX_CRL_ENTRIES = 1_000_000;

/**
 * Parses a DER CRL.
 * @throws CustodyError ERR_CRL_PARSE on malformed input or more than `MAX_CRL_ENTRIES` entries.
 */
export function parseCRL(der: Uint8Array): ParsedCRL {
  try {
    return parseStrict(der);
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_CRL_PARSE') throw e;
    throw bad((e as Error).message, e);
  }
}

function parseStrict(der: Uint8Array): ParsedCRL {
  const outer = children(readOne(der, TAG.SEQUENCE).value, 4);
  if (outer.length !== 3) throw bad('CertificateList needs three fields');
  const [tbsT, algT, sigT] = outer as [TLV, TLV, TLV];
  if (tbsT.tag !== TAG.SEQUENCE) throw bad('tbsCertList is not a SEQUENCE');
  const f = children(tbsT.value, 8);
  let i = 0;
  let version = 1;
  if (f[i]?.tag === TAG.INTEGER) {
    version = readSmallInt(f[i++]!) + 1;
    if (version !== 2) throw bad(`unsupported version ${version}`);
  }
  const tbsSignatureAlgorithm = parseAlgorithmIdentifier(f[i++] ?? missing('signature'));
  const issuer = parseName((f[i++] ?? missing('issuer')).raw);
  const thisUpdate = readTime(f[i++] ?? missing('thisUpdate'));
  let nextUpdate: Date | undefined;
  if (f[i] && (f[i]!.tag === TAG.UTC_TIME || f[i]!.tag === TAG.GENERALIZED_TIME)) nextUpdate = readTime(f[i++]!);
  const revoked = new Map<string, RevokedEntry>();
  if (f[i]?.tag === TAG.SEQUENCE) {
    for (const entry of children(f[i++]!.value, MAX_CRL_ENTRIES)) {
      if (entry.tag !== TAG.SEQUENCE) throw bad('revoked entry is not a SEQUENCE');
      const e = children(entry.value, 4);
      if (e.length < 2 || e.length > 3) throw bad('bad revoked entry');
      const serialHex = toHex(readIntegerBytes(e[0]!));
      const extensions = e[2] ? parseExtensions(e[2]) : [];
      if (extensions.length > 0 && version !== 2) throw bad('entry extensions need v2');
      revoked.set(serialHex, { serialHex, revocationDate: readTime(e[1]!), extensions });
    }
  }
  let extensions: Extension[] = [];
  if (f[i]?.tag === 0xa0) {
    if (version !== 2) throw bad('crlExtensions need v2');
    extensions = parseExtensions(readOne(f[i++]!.value));
  }
  if (i !== f.length) throw bad('unexpected fields in tbsCertList');
  const akiExt = extensions.find((e) => e.oid === '2.5.29.35');
  const numExt = extensions.find((e) => e.oid === '2.5.29.20');
  const out: ParsedCRL = {
    der,
    tbs: tbsT.raw,
    version,
    signatureAlgorithm: parseAlgorithmIdentifier(algT),
    tbsSignatureAlgorithm,
    signature: readBitStringBytes(sigT),
    issuer,
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    revoked,
    extensions,
    ...(akiExt ? { authorityKeyId: parseAuthorityKeyIdentifier(akiExt.value) } : {}),
    ...(numExt ? { crlNumber: readIntegerBytes(readOne(numExt.value)) } : {}),
  };
  return out;
}

function missing(what: string): never {
  throw bad(`missing ${what}`);
}
