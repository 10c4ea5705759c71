/**
 * The bundle model, v1: everything one device's chain of custody needs for offline verification, in one JSON
 * file. docs/bundle.md is the reader's version of the format.
 *
 * ```json
 * {"version":1,
 *  "certificates":["<IDevID DER, base64>","<issuing CA>","<party certificate>", ...],
 *  "attestations":[{"signer":2,"statement":{<in-toto Statement v1>},"signature":"<CMS signature, base64>"},
 *                  {"signer":3,"statement":{...},"cms":"<detached CMS shell, base64>"}, ...],
 *  "crls":["<DER CRL, base64>"],
 *  "log":{"checkpoint":"<signed note>","proofs":[{"attestation":0,"leafIndex":7,"treeSize":12,"hashes":["<base64>"]}],
 *         "earlier":[{"checkpoint":"<signed note>","consistency":["<base64>"]}]}}
 * ```
 *
 * `certificates` holds each certificate once: the IDevID first, then its CA chain (no root), then party
 * certificates. Each attestation is stored detached (`detach-attestation.ts`): its CMS without the encapsulated
 * statement and without the signer certificate (or, in the compact form, only its signature), the statement as
 * plain JSON, and the index of its signer certificate. The attestation DER that is hashed and verified is rebuilt from those three parts.
 *
 * Every byte of a bundle is covered by a signature or checked against one: there is no unsigned label. The lot
 * and model an importer files a device under come from the birth statement's `production` claim.
 */
import type { Statement } from '../attestation/statement.js';

/** The format version this code writes and reads. */
export const BUNDLE_VERSION = 1;

/** Limits that keep a hostile bundle from exhausting memory or time. */
export const BUNDLE_LIMITS = {
  /** Most characters of bundle text (1 MiB). */
  maxTextLength: 1 << 20,
  maxCertificates: 64,
  maxAttestations: 256,
  maxCRLs: 16,
  /** Most base64 characters of one certificate or one CMS shell. */
  maxCertificateBase64: 16_384,
  maxShellBase64: 4_096,
  /** Most base64 characters of one compact-form signature. */
  maxSignatureBase64: 256,
  /** Most base64 characters of one CRL. */
  maxCRLBase64: 262_144,
  maxCheckpointLength: 4_096,
  maxProofHashes: 64,
  /** Most earlier checkpoints in `log.earlier` (at most one per attestation is ever needed). */
  maxEarlierCheckpoints: 256,
} as const;

/**
 * One attestation, detached: DER = attach(shell, statement, certificates[signer]), where the shell is stored
 * whole (`shell`, JSON `cms`) or, in the compact form, rebuilt from the signature alone (`signature`, see
 * `compact-attestation.ts`). Exactly one of the two is present.
 */
export interface BundleAttestation {
  /** Index into `certificates` of the signer's certificate. */
  readonly signer: number;
  /** The in-toto statement the CMS encapsulates (re-encoded canonically to rebuild the DER). */
  readonly statement: Statement;
  /** Compact form: the CMS signature value (DER Ecdsa-Sig-Value). */
  readonly signature?: Uint8Array;
  /** Full form: the CMS ContentInfo without eContent and without certificates. */
  readonly shell?: Uint8Array;
}

/** An RFC 6962 inclusion proof of one attestation's log entry in the tree of `log.checkpoint`. */
export interface BundleInclusionProof {
  /** Index into `attestations`. */
  readonly attestation: number;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly hashes: readonly Uint8Array[];
}

/**
 * An earlier checkpoint of the same log, with the RFC 6962 consistency proof from its tree to the tree of
 * `log.checkpoint`: evidence that the leaves it covers were logged by its (earlier) timestamp.
 */
export interface BundleEarlierCheckpoint {
  /** The signed note. */
  readonly checkpoint: string;
  /** The consistency proof from its tree size to that of `log.checkpoint` (sizes taken from the notes). */
  readonly consistency: readonly Uint8Array[];
}

/** Transparency-log evidence: a checkpoint (C2SP signed note), inclusion proofs, and earlier checkpoints. */
export interface BundleLog {
  readonly checkpoint: string;
  readonly proofs: readonly BundleInclusionProof[];
  /** Present only when an attestation needs to prove it was logged before a time (a revoked signer). */
  readonly earlier?: readonly BundleEarlierCheckpoint[];
}

/** A parsed bundle. `certificates[0]` is the IDevID. */
export interface Bundle {
  readonly version: typeof BUNDLE_VERSION;
  readonly certificates: readonly Uint8Array[];
  readonly attestations: readonly BundleAttestation[];
  /** DER CRLs the verifier should use besides its own. */
  readonly crls?: readonly Uint8Array[];
  readonly log?: BundleLog;
}
