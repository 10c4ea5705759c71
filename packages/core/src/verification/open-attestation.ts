/**
 * One bundle entry opened for verification. A full-form entry is rebuilt and then parsed strictly like any
 * attestation. A compact-form entry (signature only) is rebuilt by one canonical writer from validated parts,
 * which yields its parsed form directly: parsing those bytes again would only read back what was just written.
 */
import type { ParsedAttestation } from '../attestation/cms-parse.js';
import { highSError, parseAttestation } from '../attestation/cms-parse.js';
import type { BundleAttestation } from '../bundle/bundle-model.js';
import { assembleCompact, type Sha256 } from '../bundle/compact-attestation.js';
import { rebuildAttestation } from '../bundle/rebuild-attestation.js';
import { ecdsaDERToP1363, isLowS } from '../crypto/ecdsa-signature.js';
import { CustodyError } from '../errors.js';

/**
 * The attestation of `entry` as parsed, with its rebuilt DER.
 * @throws ERR_BUNDLE_MALFORMED, ERR_BUNDLE_ATTESTATION, ERR_ATTESTATION_MALFORMED, ERR_ATTESTATION_STATEMENT or
 *   ERR_CLAIMS_* when the entry cannot be rebuilt or does not parse; ERR_ATTESTATION_HIGH_S when its signature,
 *   in either form, has s > n/2
 * `parsed`: `entry` comes from the caller's own `parseBundle` of text a moment before (its statement validated
 *   there and held by no one else), so the compact form's encoder need not validate the statement again.
 */
export function openAttestation(entry: BundleAttestation, certificates: readonly Uint8Array[], sha256?: Sha256, parsed = false): ParsedAttestation {
  if (!isCompactEntry(entry)) return parseAttestation(rebuildAttestation(entry, certificates, sha256));
  const certificate = certificates[entry.signer];
  if (!certificate) throw new CustodyError('ERR_BUNDLE_MALFORMED', `bundle: signer index ${entry.signer} is out of range`);
  const c = assembleCompact(entry.signature, entry.statement, certificate, sha256, parsed);
  let signatureP1363: Uint8Array;
  try {
    signatureP1363 = ecdsaDERToP1363(entry.signature, 'P-256');
  } catch (e) {
    throw new CustodyError('ERR_BUNDLE_MALFORMED', `bundle: the attestation signature is not a DER ECDSA P-256 signature: ${(e as Error).message}`, {
      cause: e,
    });
  }
  // As parseAttestation does for the full form: the compact form is no way around the low-S rule.
  if (!isLowS(signatureP1363, 'P-256')) throw highSError('attestation');
  // messageDigest is SHA-256(content) by construction here (isCompactEntry tells the signature check so).
  return {
    der: c.der,
    statement: entry.statement,
    statementBytes: c.content,
    signerCertificate: certificate,
    signerSpki: c.spki,
    sidKind: c.sidKind,
    curve: 'P-256',
    hash: 'SHA-256',
    signedAttrs: c.signedAttrs,
    signature: entry.signature,
    signatureP1363,
    signingTime: c.signingTime,
    messageDigest: c.messageDigest,
  };
}

/**
 * True for a compact-form entry (signature only), which `openAttestation` rebuilds with its message digest computed
 * from the statement bytes it wrote: checking that digest against those bytes again would only repeat it.
 */
export function isCompactEntry(entry: BundleAttestation): entry is BundleAttestation & { readonly signature: Uint8Array } {
  return entry.signature !== undefined && entry.shell === undefined;
}
