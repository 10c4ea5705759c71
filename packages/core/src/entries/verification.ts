/**
 * The `@custody/core/verification` entry point: the one verifier and what its reports are made of, without the rest
 * of core (no YAML, no certificate builders, no store ports beyond the ones it reads): what a verifying worker
 * thread loads.
 */
export {
  createVerifier,
  settleCheckpoint,
  type ExpectedCustodian,
  type PossessionEvidence,
  type Verifier,
  type VerifierOptions,
  type VerifyOptions,
} from '../verification/verifier.js';
export type { VerificationCheck, VerificationReport } from '../verification/report.js';
export type { WorkflowOption } from '../verification/evaluation.js';
export type { ReleaseSet } from '../verification/firmware-releases.js';
