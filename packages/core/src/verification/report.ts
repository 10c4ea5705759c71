/**
 * The verification report: every check with its outcome and reason, never a bare boolean.
 */
import type { Claims } from '../attestation/claims.js';
import type { SeenCandidate } from './checkpoint-memory.js';

/**
 * Stable failure codes of bundle verification (besides ERR_CHAIN_* from path validation, ERR_WORKFLOW_REJECT_* and
 * ERR_POLICY_* from workflow and policy evaluation, and ERR_BUNDLE_MALFORMED). Codes are API: never rename one.
 */
export type VerifyErrorCode =
  | 'ERR_VERIFY_SIGNATURE'
  | 'ERR_VERIFY_LINK'
  | 'ERR_VERIFY_SUBJECT'
  | 'ERR_VERIFY_SEQUENCE'
  | 'ERR_VERIFY_CUSTODIAN'
  | 'ERR_VERIFY_SIGNER'
  | 'ERR_VERIFY_TIME'
  | 'ERR_VERIFY_AFTER_ACTIVATION'
  | 'ERR_VERIFY_DEVICE_PROFILE'
  | 'ERR_VERIFY_LOG_CHECKPOINT'
  | 'ERR_VERIFY_LOG_INCLUSION'
  | 'ERR_VERIFY_LOG_CONSISTENCY'
  | 'ERR_VERIFY_LOG_FORK'
  | 'ERR_VERIFY_LOG_PENDING'
  | 'ERR_VERIFY_POSSESSION_MALFORMED'
  | 'ERR_VERIFY_POSSESSION_UNKNOWN'
  | 'ERR_VERIFY_POSSESSION_REPLAY'
  | 'ERR_VERIFY_POSSESSION_CHALLENGE'
  | 'ERR_VERIFY_POSSESSION_DEVICE'
  | 'ERR_VERIFY_POSSESSION_EXPIRED'
  | 'ERR_VERIFY_POSSESSION_SIGNATURE'
  | 'ERR_VERIFY_INTERNAL'
  | 'ERR_VERIFY_SIGNER_DEVICE'
  | 'ERR_VERIFY_SIGNER_CA'
  | 'ERR_VERIFY_SIGNER_EKU'
  | 'ERR_VERIFY_SIGNER_KEY_USAGE'
  | 'ERR_VERIFY_SIGNER_HIGH_S';

/** One check: its name, outcome, why, and a stable code when it failed. */
export interface VerificationCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly reason?: string;
  /** Set on failed checks. */
  readonly code?: string;
  /** The attestation's position in the bundle, for checks about one attestation. */
  readonly attestation?: number;
}

/** The outcome of verifying one bundle. */
export interface VerificationReport {
  /** True only when every check passed. */
  readonly ok: boolean;
  /** The device as the statements name it (`<manufacturer>/<serial>`), when the bundle parsed. */
  readonly device?: string;
  /** Hex SHA-256 of the SPKI of the party that holds the device now (the last attestation's `to`). */
  readonly custodian?: string;
  /** The custodian as a party, when the verifier could identify it (an expected custodian given as a certificate). */
  readonly custodianParty?: { readonly subject: string; readonly spkiSha256: string };
  /** Hex of the challenge nonce a passed proof of possession answered: what an activation spends. */
  readonly challenge?: string;
  /**
   * Set by a verification with `deferCheckpoint`: the bundle's trusted checkpoint, still to be checked against
   * the verifier's memory at check index `at` (`settleCheckpoint`). Never set on a settled report.
   */
  readonly pendingCheckpoint?: { readonly candidate: SeenCandidate; readonly at: number };
  /** The chain's claims merged in order (later attestations override earlier ones). */
  readonly effectiveClaims: Claims;
  readonly checks: readonly VerificationCheck[];
  /** The first failed check's code, when not ok. */
  readonly code?: string;
}

/** A passed check. */
export function pass(name: string, reason?: string, attestation?: number): VerificationCheck {
  const c: { -readonly [K in keyof VerificationCheck]: VerificationCheck[K] } = { name, ok: true };
  if (reason !== undefined) c.reason = reason;
  if (attestation !== undefined) c.attestation = attestation;
  return c;
}

/** A failed check. */
export function fail(name: string, code: string, reason: string, attestation?: number): VerificationCheck {
  return attestation === undefined ? { name, ok: false, code, reason } : { name, ok: false, code, reason, attestation };
}

/** A failed check from an exception: its CustodyError code, or ERR_VERIFY_INTERNAL for anything else. */
export function failFrom(name: string, e: unknown, attestation?: number, fallback = 'ERR_VERIFY_INTERNAL'): VerificationCheck {
  const code =
    typeof (e as { code?: unknown })?.code === 'string' && String((e as { code: string }).code).startsWith('ERR_') ? (e as { code: string }).code : fallback;
  return fail(name, code, e instanceof Error ? e.message : String(e), attestation);
}
