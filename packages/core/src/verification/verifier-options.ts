/**
 * What a verifier is built from and what one verification is given: the trust inputs (anchors, workflow, policy,
 * CRLs, log keys) and, per bundle, the time, the expected custodian and the ports for evidence from outside the
 * bundle (checkpoint memory, challenges).
 */
import type { ReleaseSet } from './firmware-releases.js';
import type { Bundle } from '../bundle/bundle-model.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { ConsistencyProof } from '../log/consistency.js';
import type { HashFn } from '../log/merkle.js';
import type { VerifierKey } from '../log/verifier-key.js';
import type { ChallengeRecords } from '../possession/challenge.js';
import type { Policy } from '../workflow/policy.js';
import type { PartyIdentity } from '../workflow/signer-rule.js';
import type { CheckpointMemory } from './checkpoint-memory.js';
import type { WorkflowOption } from './evaluation.js';
import type { VerificationReport } from './report.js';

/** What a verifier is built from. */
export interface VerifierOptions {
  /** Trust anchors (DER root certificates): the manufacturer's and every party's. */
  readonly trustAnchors: readonly Uint8Array[];
  readonly provider: CryptoProvider;
  /** Hold every chain to this workflow; without it, any trusted party may sign any attestation. */
  readonly workflow?: WorkflowOption;
  /** The customer's acceptance policy. */
  readonly policy?: Policy;
  /** CRLs (DER) to check every certificate against, besides the bundle's own. */
  readonly crls?: readonly Uint8Array[];
  /**
   * Keys of the transparency logs this verifier trusts. Without any, a bundle's log part is only checked for
   * consistency with itself and proves nothing (no inclusion, no logging time).
   */
  readonly logKeys?: readonly VerifierKey[];
  /** SHA-256 for log leaves and proofs (default: the pure implementation; node's is faster). */
  readonly logHash?: HashFn;
  /** Default verification time (core reads no clock). */
  readonly at?: Date;
  /** Verified firmware releases and withdrawals: each installed firmware is checked against them (`checkFirmwareReleases`). */
  readonly releases?: ReleaseSet;
}

/** The proof of possession a verification checks: the device's response, and the verifier's own challenges. */
export interface PossessionEvidence {
  /** The response file's bytes, as the device wrote them. */
  readonly response: Uint8Array;
  /** The challenges this verifier issued (read only: activation spends them). */
  readonly records: ChallengeRecords;
}

/** The party expected to hold the device now: by SPKI hash, or by its attestation certificate. */
export type ExpectedCustodian = string | { readonly certificate: Uint8Array };

/** Options of one verification: its time, and the verifier's ports and evidence from outside the bundle. */
export interface VerifyOptions {
  /** Verification time; overrides the verifier's. */
  readonly at?: Date;
  /**
   * The party that must hold the device now (the last attestation's `to`): how a customer detects a chain cut
   * short, which is otherwise a valid chain to an earlier custodian. Given as a certificate, it must be a trusted
   * attestation party, and it is also the recipient the workflow's pending stage is checked against.
   */
  readonly expectedCustodian?: ExpectedCustodian;
  /** The recipient for the workflow's pending stage, when known as an identity rather than a certificate. */
  readonly nextCustodian?: PartyIdentity;
  /** The verifier's memory of each log's newest checkpoint: a bundle's checkpoint must be consistent with it. */
  readonly checkpoints?: CheckpointMemory;
  /** Consistency proofs from a log's operator, between the remembered checkpoint and a bundle's. */
  readonly consistency?: readonly ConsistencyProof[];
  /** A challenge response to check against the device's identity key. */
  readonly possession?: PossessionEvidence;
  /**
   * Leave the check against `checkpoints` to the caller: the report then carries `pendingCheckpoint`, which
   * `settleCheckpoint` completes. For verifiers on several threads whose one memory is on another: settled in
   * bundle order, the reports are those of one thread verifying in that order.
   */
  readonly deferCheckpoint?: boolean;
}

/** A verifier for one set of trust anchors. */
export interface Verifier {
  /**
   * Verifies a bundle (text or parsed). Never rejects for a bad bundle: every failure is a check in the report.
   * @throws TypeError when no valid verification time is given (here or to `createVerifier`)
   */
  verify(bundle: Bundle | string, options?: VerifyOptions): Promise<VerificationReport>;
}
