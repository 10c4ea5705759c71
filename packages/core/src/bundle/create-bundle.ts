/**
 * Assembling a bundle from a device's certificates and its attestations as signed (DER CMS).
 */
import { CustodyError } from '../errors.js';
import { toHex } from '../util/bytes.js';
import { BUNDLE_VERSION, type Bundle, type BundleAttestation, type BundleLog } from './bundle-model.js';
import { compactSignature } from './compact-attestation.js';
import { detachAttestation } from './detach-attestation.js';
import { checkBundleModel } from './encode-bundle.js';

/** What `createBundle` needs. */
export interface BundleInput {
  /** The device's IDevID certificate (DER). */
  readonly certificate: Uint8Array;
  /** Its CA chain without the root, issuing CA first (DER). */
  readonly chain: readonly Uint8Array[];
  /** Every attestation of the device, birth first (DER CMS, as signed). */
  readonly attestations: readonly Uint8Array[];
  /** CRLs to carry (DER). */
  readonly crls?: readonly Uint8Array[];
  readonly log?: BundleLog;
}

/**
 * Builds the bundle model: certificates deduplicated (IDevID, chain, then each signer once, in order of first
 * use), attestations detached, in the compact form when it rebuilds them exactly. Serialize it with `encodeBundle`.
 * @throws ERR_ATTESTATION_MALFORMED / ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for an attestation that does not
 *   parse; ERR_BUNDLE_ATTESTATION for one whose statement is not canonical; ERR_BUNDLE_MALFORMED when a limit is
 *   exceeded, the IDevID repeats in the chain or a label is not printable
 */
export function createBundle(input: BundleInput): Bundle {
  const certificates: Uint8Array[] = [];
  const index = new Map<string, number>();
  const add = (der: Uint8Array, allowSeen: boolean): number => {
    const key = toHex(der);
    const hit = index.get(key);
    if (hit !== undefined) {
      if (!allowSeen) throw new CustodyError('ERR_BUNDLE_MALFORMED', 'bundle: the chain repeats a certificate');
      return hit;
    }
    index.set(key, certificates.length);
    certificates.push(der);
    return certificates.length - 1;
  };
  add(input.certificate, false);
  for (const c of input.chain) add(c, false);
  const attestations: BundleAttestation[] = input.attestations.map((der) => {
    const d = detachAttestation(der);
    const signer = add(d.certificate, true);
    const signature = compactSignature(d.shell, d.statement, d.certificate);
    return signature ? { signer, statement: d.statement, signature } : { signer, statement: d.statement, shell: d.shell };
  });
  const bundle: { -readonly [K in keyof Bundle]: Bundle[K] } = { version: BUNDLE_VERSION, certificates, attestations };
  if (input.crls && input.crls.length > 0) bundle.crls = [...input.crls];
  if (input.log) bundle.log = input.log;
  checkBundleModel(bundle);
  return bundle;
}
