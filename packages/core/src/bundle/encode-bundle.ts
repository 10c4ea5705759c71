/**
 * Writing bundles: compact JSON in one fixed key order, binary parts in standard base64, statements as the very
 * JSON text their attestations sign. One model, one byte string.
 */
import { encodeStatement } from '../attestation/statement.js';
import { CustodyError } from '../errors.js';
import { fromUtf8, toBase64, toHex } from '../util/bytes.js';
import { BUNDLE_LIMITS, BUNDLE_VERSION, type Bundle, type BundleLog } from './bundle-model.js';

function malformed(field: string, what: string): CustodyError {
  return new CustodyError('ERR_BUNDLE_MALFORMED', `bundle: ${field} ${what}`);
}

/**
 * The cross-field rules of a bundle model: counts within `BUNDLE_LIMITS`, signer and proof indexes in range, no
 * certificate twice.
 * @throws ERR_BUNDLE_MALFORMED naming the field
 */
export function checkBundleModel(b: Bundle): void {
  const n = b.certificates.length;
  if (n < 1) throw malformed('certificates', 'must hold at least the device certificate');
  if (n > BUNDLE_LIMITS.maxCertificates) throw malformed('certificates', `holds ${n} entries, at most ${BUNDLE_LIMITS.maxCertificates} allowed`);
  const seen = new Set<string>();
  b.certificates.forEach((c, i) => {
    const key = toHex(c);
    if (seen.has(key)) throw malformed(`certificates[${i}]`, 'repeats an earlier certificate');
    seen.add(key);
  });
  const m = b.attestations.length;
  if (m < 1) throw malformed('attestations', 'must hold at least the birth attestation');
  if (m > BUNDLE_LIMITS.maxAttestations) throw malformed('attestations', `holds ${m} entries, at most ${BUNDLE_LIMITS.maxAttestations} allowed`);
  b.attestations.forEach((a, i) => {
    if (!Number.isSafeInteger(a.signer) || a.signer < 0 || a.signer >= n)
      throw malformed(`attestations[${i}].signer`, `must be a certificate index from 0 to ${n - 1}`);
    if ((a.shell === undefined) === (a.signature === undefined)) throw malformed(`attestations[${i}]`, 'needs exactly one of "cms" and "signature"');
  });
  if (b.crls && b.crls.length > BUNDLE_LIMITS.maxCRLs) throw malformed('crls', `holds ${b.crls.length} entries, at most ${BUNDLE_LIMITS.maxCRLs} allowed`);
  b.log?.proofs.forEach((p, i) => {
    if (!Number.isSafeInteger(p.attestation) || p.attestation < 0 || p.attestation >= m)
      throw malformed(`log.proofs[${i}].attestation`, `must be an attestation index from 0 to ${m - 1}`);
  });
  const e = b.log?.earlier?.length ?? 0;
  if (e > BUNDLE_LIMITS.maxEarlierCheckpoints) throw malformed('log.earlier', `holds ${e} entries, at most ${BUNDLE_LIMITS.maxEarlierCheckpoints} allowed`);
}

const hashes = (list: readonly Uint8Array[]): string => `[${list.map((h) => `"${toBase64(h)}"`).join(',')}]`;

function encodeLog(log: BundleLog): string {
  const proofs = log.proofs.map((p) => `{"attestation":${p.attestation},"leafIndex":${p.leafIndex},"treeSize":${p.treeSize},"hashes":${hashes(p.hashes)}}`);
  // Only when there are any: a bundle with no revoked signer carries no byte of this.
  const earlier =
    log.earlier && log.earlier.length > 0
      ? `,"earlier":[${log.earlier.map((e) => `{"checkpoint":${JSON.stringify(e.checkpoint)},"consistency":${hashes(e.consistency)}}`).join(',')}]`
      : '';
  return `{"checkpoint":${JSON.stringify(log.checkpoint)},"proofs":[${proofs.join(',')}]${earlier}}`;
}

/**
 * The bundle's JSON text: compact, keys in the documented order, `crls` and `log` only when present and non-empty
 * (crls) or present (log), `log.earlier` only when non-empty.
 * @throws ERR_BUNDLE_MALFORMED for a model that breaks the cross-field rules; ERR_ATTESTATION_STATEMENT /
 *   ERR_CLAIMS_* for a malformed statement
 */
export function encodeBundle(bundle: Bundle): string {
  if (bundle.version !== BUNDLE_VERSION) throw malformed('version', `must be ${BUNDLE_VERSION}`);
  checkBundleModel(bundle);
  const certs = bundle.certificates.map((c) => `"${toBase64(c)}"`).join(',');
  const atts = bundle.attestations
    .map((a) => {
      const tail = a.signature !== undefined ? `"signature":"${toBase64(a.signature)}"` : `"cms":"${toBase64(a.shell!)}"`;
      return `{"signer":${a.signer},"statement":${fromUtf8(encodeStatement(a.statement))},${tail}}`;
    })
    .join(',');
  let s = `{"version":${BUNDLE_VERSION},"certificates":[${certs}],"attestations":[${atts}]`;
  if (bundle.crls && bundle.crls.length > 0) s += `,"crls":[${bundle.crls.map((c) => `"${toBase64(c)}"`).join(',')}]`;
  if (bundle.log) s += `,"log":${encodeLog(bundle.log)}`;
  return s + '}';
}
