/**
 * The attestation DER of one bundle entry: the bytes that are hashed (`prev` links) and verified.
 */
import { CustodyError } from '../errors.js';
import type { BundleAttestation } from './bundle-model.js';
import { expandShell, type Sha256 } from './compact-attestation.js';
import { attachAttestation } from './detach-attestation.js';

/**
 * Rebuilds the DER of `entry` with its signer certificate taken from `certificates`.
 * @throws ERR_BUNDLE_MALFORMED when the signer index is out of range or the entry has neither or both forms;
 *   ERR_BUNDLE_ATTESTATION for a malformed shell or a compact entry whose signer key is not P-256;
 *   ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for a malformed statement
 */
export function rebuildAttestation(entry: BundleAttestation, certificates: readonly Uint8Array[], sha256?: Sha256): Uint8Array {
  const cert = certificates[entry.signer];
  if (!cert) throw new CustodyError('ERR_BUNDLE_MALFORMED', `bundle: signer index ${entry.signer} is out of range`);
  if ((entry.shell === undefined) === (entry.signature === undefined)) {
    throw new CustodyError('ERR_BUNDLE_MALFORMED', 'bundle: an attestation needs exactly one of "cms" and "signature"');
  }
  const shell = entry.shell ?? expandShell(entry.signature!, entry.statement, cert, sha256);
  return attachAttestation(shell, entry.statement, cert);
}
