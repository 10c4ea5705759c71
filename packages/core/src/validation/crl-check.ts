/**
 * Revocation of one certificate by complete CRLs of its issuer (RFC 5280 6.3, simplified to what a device PKI
 * publishes: one full CRL per CA). A CRL the validator cannot fully judge (delta, indirect, partitioned by
 * issuingDistributionPoint, unknown critical extension, stale) fails closed with ERR_CHAIN_CRL rather than being
 * ignored.
 *
 * Which CRLs are evidence (a CRL is only as good as the key that signed it):
 * - a CRL naming the certificate's issuer, whose authorityKeyIdentifier names the issuer certificate's key (or
 *   that has no AKI), must verify under that key: one that does not fails with ERR_CHAIN_CRL;
 * - a CRL naming the issuer whose AKI names another key is a CRL of the CA's other key (RFC 5280 6.3.3 (f) and
 *   (b)(1), CA key rollover): it counts only when `lookup` finds a certificate for that key (validated by the
 *   caller to the same trust anchor), and must then verify under it. Without one it is left out, which leaves the
 *   certificate's status `unknown`, never `good`;
 * - `good` also needs a CRL with a nextUpdate (one without says nothing about when it stops being current);
 *   revocation entries count from any CRL that verifies.
 */
import { readOne, readTime } from '../asn1/der.js';
import { equalBytes, toHex } from '../util/bytes.js';
import type { ParsedCertificate } from './certificate.js';
import type { ParsedCRL, RevokedEntry } from './crl.js';
import { namesEqual } from './name.js';
import { failed, passed, type RevocationState, type RevocationStatus } from './report.js';

const CRL_NUMBER = '2.5.29.20';
const INVALIDITY_DATE = '2.5.29.24';
const CRL_EXTENSIONS = new Set(['2.5.29.35', CRL_NUMBER, '2.5.29.18']);
const ENTRY_EXTENSIONS = new Set(['2.5.29.21', '2.5.29.24']);

/** Verifies a CRL's signature with the issuer's key (cached by the caller). */
export type CRLSignatureCheck = (crl: ParsedCRL, issuer: ParsedCertificate) => Promise<{ ok: boolean; reason?: string }>;

function crlProblem(crl: ParsedCRL): string | undefined {
  if (!equalBytes(crl.tbsSignatureAlgorithm.der, crl.signatureAlgorithm.der)) return 'CRL signature algorithms differ (RFC 5280 5.1.1.2)';
  if (crl.version !== 2) return 'CRL is not v2';
  const num = crl.extensions.find((e) => e.oid === CRL_NUMBER);
  if (!num) return 'CRL lacks the CRLNumber extension (RFC 5280 5.2.3)';
  if (num.critical) return 'CRLNumber must not be critical (RFC 5280 5.2.3)';
  for (const e of crl.extensions) if (!CRL_EXTENSIONS.has(e.oid)) return `CRL extension ${e.oid} is not supported (delta, indirect or partitioned CRL)`;
  for (const r of crl.revoked.values())
    for (const e of r.extensions)
      if (!ENTRY_EXTENSIONS.has(e.oid) && (e.critical || e.oid === '2.5.29.29')) return `CRL entry extension ${e.oid} is not supported`;
  return undefined;
}

const intrinsic = new WeakMap<ParsedCRL, string | null>();

/** What makes a CRL unusable whatever its signer and the time, once per parsed CRL: the entry scan is linear. */
function intrinsicProblem(crl: ParsedCRL): string | undefined {
  let hit = intrinsic.get(crl);
  if (hit === undefined) intrinsic.set(crl, (hit = crlProblem(crl) ?? null));
  return hit ?? undefined;
}

function unusable(crl: ParsedCRL, signer: ParsedCertificate, at: Date): string | undefined {
  const why = intrinsicProblem(crl);
  if (why) return why;
  if (signer.keyUsage && !signer.keyUsage.has('cRLSign')) return 'CRL issuer keyUsage lacks cRLSign (RFC 5280 4.2.1.3)';
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

/** The revocation check of one certificate: a path check with its status as evidence (see `RevocationStatus`). */
export type RevokedCheck = RevocationStatus;

/**
 * Finds the certificate of the key that signed `crl` when the CRL names the certificate's issuer but its AKI names
 * another key than the issuer certificate's (a CA key rollover): a certificate with the CRL's issuer as subject
 * and the AKI as subjectKeyIdentifier, validated to the same trust anchor as the certificate's path. Undefined
 * when there is none.
 */
export type CRLIssuerLookup = (crl: ParsedCRL) => Promise<ParsedCertificate | undefined>;

function outcome(check: ReturnType<typeof failed>, cert: ParsedCertificate, status: RevocationState, revokedAt?: Date): RevokedCheck {
  const out: RevokedCheck = { ...check, issuer: cert.issuer.text, status };
  return revokedAt === undefined ? out : { ...out, revokedAt };
}

/**
 * The revocation check of `cert` (issued by `issuer`) against `crls`: which CRLs count is in the file header.
 * Every CRL that counts must be usable and verify. A revoked certificate's check carries the earliest
 * `revocationTime` the CRLs give. With `required`, a certificate whose status no CRL establishes fails with
 * ERR_CHAIN_CRL.
 */
export async function checkRevocation(
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  crls: readonly ParsedCRL[],
  at: Date,
  verify: CRLSignatureCheck,
  required: boolean,
  lookup?: CRLIssuerLookup,
): Promise<RevokedCheck> {
  const mine: Array<{ crl: ParsedCRL; signer: ParsedCertificate }> = [];
  let otherKey = 0;
  for (const crl of crls) {
    if (!namesEqual(crl.issuer, cert.issuer)) continue;
    const aki = crl.authorityKeyId?.keyIdentifier;
    if (!aki || !issuer.subjectKeyId || equalBytes(aki, issuer.subjectKeyId)) {
      mine.push({ crl, signer: issuer });
      continue;
    }
    const signer = lookup ? await lookup(crl) : undefined;
    if (signer) mine.push({ crl, signer });
    else otherKey++;
  }
  const unknown = (what: string): RevokedCheck =>
    required ? outcome(failed('revocation', 'ERR_CHAIN_CRL', what, cert), cert, 'unknown') : outcome(passed('revocation', cert, what), cert, 'unknown');
  if (mine.length === 0) {
    if (otherKey > 0)
      return unknown(
        `no verified CRL from "${cert.issuer.text}": ${otherKey} CRL(s) naming it are signed by another key, which no certificate available certifies under this path's trust anchor`,
      );
    return unknown(`no CRL from "${cert.issuer.text}"`);
  }
  let revoked: { entry: RevokedEntry; time: Date | undefined } | undefined;
  let current = false;
  for (const { crl, signer } of mine) {
    const why = unusable(crl, signer, at);
    if (why) return outcome(failed('revocation', 'ERR_CHAIN_CRL', why, cert), cert, 'unknown');
    const sig = await verify(crl, signer);
    if (!sig.ok)
      return outcome(
        failed(
          'revocation',
          'ERR_CHAIN_CRL',
          `CRL signature: ${sig.reason ?? 'does not verify'}${signer === issuer ? '' : ` (under the rolled-over key ${toHex(signer.subjectKeyId ?? new Uint8Array(0))} of "${signer.subject.text}")`}`,
          cert,
        ),
        cert,
        'unknown',
      );
    if (crl.nextUpdate) current = true;
    const entry = crl.revoked.get(cert.serialHex);
    if (!entry) continue;
    const time = revocationTime(entry);
    // The earliest time wins; an unknown one wins over any.
    if (!revoked || (revoked.time !== undefined && (time === undefined || time < revoked.time))) revoked = { entry, time };
  }
  if (!revoked) {
    if (!current) return unknown(`not on ${mine.length} CRL(s), but none has a nextUpdate, so none is known to be current`);
    const rolled = mine.some((m) => m.signer !== issuer) ? ', one signed by a rolled-over key of the issuer' : '';
    return outcome(passed('revocation', cert, `not on ${mine.length} CRL(s)${rolled}`), cert, 'good');
  }
  const { entry, time } = revoked;
  const since =
    time === undefined
      ? ' (its invalidity date does not parse)'
      : time.getTime() !== entry.revocationDate.getTime()
        ? ` (invalid since ${time.toISOString()})`
        : '';
  return outcome(
    failed('revocation', 'ERR_CHAIN_REVOKED', `serial ${cert.serialHex} revoked on ${entry.revocationDate.toISOString()}${since}`, cert),
    cert,
    'revoked',
    time,
  );
}
