/**
 * Issues complete v2 CRLs signed by the CA's own key (RFC 5280 5.1), in the profile `validation/crl-check.ts`
 * accepts: issuer = the CA's subject DER byte for byte, AuthorityKeyIdentifier = the CA's key identifier,
 * a non-critical CRLNumber, and a reasonCode entry extension where a reason is known.
 *
 *   CertificateList ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm AlgorithmIdentifier,
 *                                  signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version Version OPTIONAL (v2 = 1), signature AlgorithmIdentifier, issuer Name,
 *     thisUpdate Time, nextUpdate Time OPTIONAL,
 *     revokedCertificates SEQUENCE OF SEQUENCE { userCertificate CertificateSerialNumber, revocationDate Time,
 *                                                crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
 *     crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */
import { CustodyError } from '../errors.js';
import { OID } from '../asn1/oids.js';
import { bitString, explicit, integer, seq, smallInt, tlv, x509Time } from '../asn1/der.js';
import { equalBytes, fromHex, toHex } from '../util/bytes.js';
import type { CryptoProvider, PrivateKeyHandle } from '../crypto/provider.js';
import { ecdsaP1363ToDER } from '../crypto/ecdsa-signature.js';
import { spkiCurve, type CertificateInfo } from './certificate-info.js';
import { keyIdentifier, signatureAlgorithm } from './certificate-factory.js';
import { authorityKeyIdentifier, extension } from './extensions.js';

/**
 * CRLReason ::= ENUMERATED (RFC 5280 5.3.1); value 7 is unused. `removeFromCRL` only has a meaning in delta
 * CRLs, which custody does not issue.
 */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

/** The name of a CRL reason code. */
export type CRLReason = keyof typeof CRL_REASONS;

/** True when `name` is one of the RFC 5280 reason names (case as in the RFC). */
export function isCRLReason(name: string): name is CRLReason {
  return Object.prototype.hasOwnProperty.call(CRL_REASONS, name);
}

/** One certificate to list as revoked. */
export interface RevokedCertificate {
  /** The certificate's serial as hex (colons and case ignored), as `CertificateInfo.serialHex` gives it. */
  serialHex: string;
  revokedAt: Date;
  reason?: CRLReason;
}

export interface CRLOptions {
  /** The CA certificate whose key signs the CRL. */
  issuer: CertificateInfo;
  key: PrivateKeyHandle;
  provider: CryptoProvider;
  thisUpdate: Date;
  nextUpdate: Date;
  /** CRLNumber: monotonically increasing per CA, 0 to 2^159 - 1 (RFC 5280 5.2.3). */
  crlNumber: bigint | number;
  revoked: readonly RevokedCertificate[];
}

/** True when the issuer has a keyUsage without cRLSign (bit 6: the second-lowest bit of the first byte of bits). */
function lacksCRLSign(issuer: CertificateInfo): boolean {
  const ku = issuer.extensions.find((e) => e.oid === OID.keyUsage)?.value;
  if (!ku) return false;
  // KeyUsage BIT STRING: tag, length, unused-bits count, then the bits.
  return ku.length < 4 || (ku[3]! & 0x02) === 0;
}

/** A serial given as hex (with or without colons) as its unsigned magnitude bytes. */
function serialBytes(serialHex: string): Uint8Array {
  const hex = serialHex.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,80}$/.test(hex)) throw new CustodyError('ERR_CRL_SERIAL', `certificate serial "${serialHex}" is not hex of at most 40 bytes`);
  return fromHex(hex.length % 2 ? `0${hex}` : hex);
}

/**
 * A certificate serial given as hex (colons, case and leading zeros ignored) in the form `CertificateInfo.serialHex`
 * and `ParsedCRL.revoked` use: lower-case hex of the DER INTEGER's content octets of the positive serial.
 * @throws ERR_CRL_SERIAL when it is not hex of at most 40 bytes
 */
export function normalizeSerialHex(serialHex: string): string {
  return toHex(integer(serialBytes(serialHex)).subarray(2));
}

function crlNumberBytes(n: bigint | number): Uint8Array {
  if (typeof n === 'number' && !Number.isSafeInteger(n)) throw new TypeError('crlNumber must be an integer');
  const big = BigInt(n);
  if (big < 0n || big >= 1n << 159n) throw new CustodyError('ERR_CRL_NUMBER', `CRL number ${big} is out of range (0 to 2^159 - 1, RFC 5280 5.2.3)`);
  const hex = big.toString(16);
  return integer(fromHex(hex.length % 2 ? `0${hex}` : hex));
}

function entry(r: RevokedCertificate): Uint8Array {
  if (!(r.revokedAt instanceof Date) || Number.isNaN(r.revokedAt.getTime())) throw new TypeError(`revokedAt of serial ${r.serialHex} must be a valid Date`);
  const parts = [integer(serialBytes(r.serialHex)), x509Time(r.revokedAt)];
  if (r.reason !== undefined) {
    if (!isCRLReason(r.reason) || r.reason === 'removeFromCRL')
      throw new CustodyError('ERR_CRL_REASON', `CRL reason "${r.reason}" cannot be used in a complete CRL`);
    // RFC 5280 5.3.1: the reasonCode extension is absent rather than `unspecified`; ENUMERATED is tag 10.
    if (r.reason !== 'unspecified') parts.push(seq(extension(OID.crlReason, false, tlv(0x0a, smallInt(CRL_REASONS[r.reason]).subarray(2)))));
  }
  return seq(...parts);
}

/**
 * Creates a complete v2 CRL signed by `issuer`'s key: DER CertificateList (RFC 5280 5.1).
 * @throws ERR_CRL_ISSUER when the issuer is not a CA, lacks cRLSign, or `key` is not its key;
 * ERR_CRL_TIME when nextUpdate is not after thisUpdate; ERR_CRL_SERIAL for a serial that is not hex;
 * ERR_CRL_DUPLICATE_SERIAL when a serial is listed twice; ERR_CRL_REASON for removeFromCRL or an unknown reason;
 * ERR_CRL_NUMBER for a CRL number out of range
 */
export async function createCRL(o: CRLOptions): Promise<Uint8Array> {
  const { issuer, key, provider } = o;
  if (!issuer.isCA) throw new CustodyError('ERR_CRL_ISSUER', `"${issuer.subjectText}" is not a CA and cannot issue CRLs`);
  if (lacksCRLSign(issuer)) throw new CustodyError('ERR_CRL_ISSUER', `"${issuer.subjectText}": keyUsage lacks cRLSign (RFC 5280 4.2.1.3)`);
  if (!equalBytes(key.spki, issuer.spki) || spkiCurve(issuer.spki) !== key.curve)
    throw new CustodyError('ERR_CRL_ISSUER', `the signing key is not the key of "${issuer.subjectText}"`);
  for (const d of [o.thisUpdate, o.nextUpdate])
    if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError('thisUpdate and nextUpdate must be valid Dates');
  if (Math.floor(o.nextUpdate.getTime() / 1000) <= Math.floor(o.thisUpdate.getTime() / 1000)) {
    throw new CustodyError('ERR_CRL_TIME', `nextUpdate ${o.nextUpdate.toISOString()} is not after thisUpdate ${o.thisUpdate.toISOString()}`);
  }
  const seen = new Set<string>();
  const entries: Uint8Array[] = [];
  for (const r of o.revoked) {
    const id = normalizeSerialHex(r.serialHex);
    if (seen.has(id)) throw new CustodyError('ERR_CRL_DUPLICATE_SERIAL', `certificate serial ${r.serialHex} is listed twice`);
    seen.add(id);
    entries.push(entry(r));
  }
  const algorithm = signatureAlgorithm(key.curve);
  const keyId = issuer.subjectKeyId ?? (await keyIdentifier(provider, issuer.spki));
  const crlNumber = extension(OID.crlNumber, false, crlNumberBytes(o.crlNumber));
  const tbs = seq(
    smallInt(1),
    algorithm,
    issuer.subject,
    x509Time(o.thisUpdate),
    x509Time(o.nextUpdate),
    // RFC 5280 5.1.2.6: absent, not empty, when nothing is revoked.
    ...(entries.length > 0 ? [seq(...entries)] : []),
    explicit(0, seq(authorityKeyIdentifier(keyId), crlNumber)),
  );
  const signature = await provider.sign(key, tbs);
  return seq(tbs, algorithm, bitString(ecdsaP1363ToDER(signature)));
}
