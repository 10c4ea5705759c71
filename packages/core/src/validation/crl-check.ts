/**
 * Revocation of one certificate by complete CRLs of its issuer (RFC 5280 6.3, simplified to what a device PKI
 * publishes: one full CRL per CA, signed by the CA's own key). A CRL the validator cannot fully judge (delta,
 * indirect, partitioned by issuingDistributionPoint, unknown critical extension, stale) fails closed with
 * ERR_CHAIN_CRL rather than being ignored.
 */
import { readOne, readTime } from '../asn1/der.js';
import { equalBytes } from '../util/bytes.js';
import type { ParsedCertificate } from './certificate.js';
import type { ParsedCRL, RevokedEntry } from './crl.js';
import { namesEqual } from './name.js';
import { failed, passed, type PathCheck } from './report.js';

const CRL_NUMBER = '2.5.29.20';
const INVALIDITY_DATE = '2.5.29.24';
const CRL_EXTENSIONS = new Set(['2.5.29.35', CRL_NUMBER, '2.5.29.18']);
const ENTRY_EXTENSIONS = new Set(['2.5.29.21', '2.5.29.24']);

/** Verifies a CRL's signature with the issuer's key (cached by the caller). */
export type CRLSignatureCheck = (crl: ParsedCRL, issuer: ParsedCertificate) => Promise<{ ok: boolean; reason?: string }>;

function unusable(crl: ParsedCRL, issuer: ParsedCertificate, at: Date): string | undefined {
  if (!equalBytes(crl.tbsSignatureAlgorithm.der, crl.signatureAlgorithm.der)) return 'CRL signature algorithms differ (RFC 5280 5.1.1.2)';
  if (crl.version !== 2) return 'CRL is not v2';
  const num = crl.extensions.find((e) => e.oid === CRL_NUMBER);
  if (!num) return 'CRL lacks the CRLNumber extension (RFC 5280 5.2.3)';
  if (num.critical) return 'CRLNumber must not be critical (RFC 5280 5.2.3)';
  for (const e of crl.extensions) if (!CRL_EXTENSIONS.has(e.oid)) return `CRL extension ${e.oid} is not supported (delta, indirect or partitioned CRL)`;
  for (const r of crl.revoked.values()) for (const e of r.extensions) if (!ENTRY_EXTENSIONS.has(e.oid) && (e.critical || e.oid === '2.5.29.29')) return `CRL entry extension ${e.oid} is not supported`;
  if (issuer.keyUsage && !issuer.keyUsage.has('cRLSign')) return 'CRL issuer keyUsage lacks cRLSign (RFC 5280 4.2.1.3)';
  if (crl.thisUpdate.getTime() > at.getTime()) return 'CRL thisUpdate is in the future';
  if (crl.nextUpdate && crl.nextUpdate.getTime() < at.getTime()) return 'CRL is past its nextUpdate';
  return undefined;
}

/**
 * From when a revoked certificate is no longer to be trusted: its revocationDate, or its invalidityDate (RFC 5280
 * 5.3.2: when the key is known or suspected to have been compromised) when that is earlier. Undefined when the
 * invalidityDate does not parse: then no time before the revocation can be trusted either.
 */
export function revocationTime(entry: RevokedEntry): Date | undefined {
  const ext = entry.extensions.find((e) => e.oid === INVALIDITY_DATE);
  if (!ext) return entry.revocationDate;
  try {
    const invalid = readTime(readOne(ext.value));
    return invalid < entry.revocationDate ? invalid : entry.revocationDate;
  } catch {
    return undefined;
  }
}

/** A failed revocation check, with the time the certificate stopped being trustworthy (see `revocationTime`). */
export interface RevokedCheck extends PathCheck {
  /** Absent when not revoked, or when that time is unknown. */
  readonly revokedAt?: Date;
}

/**
 * The revocation check of `cert` (issued by `issuer`) against `crls`. Only CRLs naming the issuer, and whose AKI
 * (when both sides have key identifiers) names the issuer's key, are considered; every one of them must be usable
 * and verify. A revoked certificate's check carries the earliest `revocationTime` the CRLs give.
 */
export async function checkRevocation(
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  crls: readonly ParsedCRL[],
  at: Date,
  verify: CRLSignatureCheck,
  required: boolean,
): Promise<RevokedCheck> {
  const mine = crls.filter((c) => {
    if (!namesEqual(c.issuer, cert.issuer)) return false;
    const aki = c.authorityKeyId?.keyIdentifier;
    return !(aki && issuer.subjectKeyId && !equalBytes(aki, issuer.subjectKeyId));
  });
  if (mine.length === 0) {
    return required ? failed('revocation', 'ERR_CHAIN_CRL', `no CRL from "${cert.issuer.text}"`, cert) : passed('revocation', cert, 'no CRL supplied for this issuer');
  }
  let revoked: { entry: RevokedEntry; time: Date | undefined } | undefined;
  for (const crl of mine) {
    const why = unusable(crl, issuer, at);
    if (why) return failed('revocation', 'ERR_CHAIN_CRL', why, cert);
    const sig = await verify(crl, issuer);
    if (!sig.ok) return failed('revocation', 'ERR_CHAIN_CRL', `CRL signature: ${sig.reason ?? 'does not verify'}`, cert);
    const entry = crl.revoked.get(cert.serialHex);
    if (!entry) continue;
    const time = revocationTime(entry);
    // The earliest time wins; an unknown one wins over any.
    if (!revoked || (revoked.time !== undefined && (time === undefined || time < revoked.time))) revoked = { entry, time };
  }
  if (!revoked) return passed('revocation', cert, `not on ${mine.length} CRL(s)`);
  const { entry, time } = revoked;
  const since = time === undefined ? ' (its invalidity date does not parse)' : time.getTime() !== entry.revocationDate.getTime() ? ` (invalid since ${time.toISOString()})` : '';
  const check = failed('revocation', 'ERR_CHAIN_REVOKED', `serial ${cert.serialHex} revoked on ${entry.revocationDate.toISOString()}${since}`, cert);
  return time === undefined ? check : { ...check, revokedAt: time };
}
