/**
 * The result types of path validation: every check with its outcome, and one stable code when it failed.
 */
import type { ParsedCertificate } from './certificate.js';

/** Stable failure codes of path validation. Codes are API: add new ones, never rename one. */
export type ChainErrorCode =
  | 'ERR_CHAIN_NO_PATH'
  | 'ERR_CHAIN_SIGNATURE'
  | 'ERR_CHAIN_ALGORITHM'
  | 'ERR_CHAIN_EXPIRED'
  | 'ERR_CHAIN_NOT_YET_VALID'
  | 'ERR_CHAIN_NOT_CA'
  | 'ERR_CHAIN_PATHLEN'
  | 'ERR_CHAIN_KEY_USAGE'
  | 'ERR_CHAIN_EKU'
  | 'ERR_CHAIN_CRITICAL_EXTENSION'
  | 'ERR_CHAIN_NAME_CONSTRAINTS'
  | 'ERR_CHAIN_REVOKED'
  | 'ERR_CHAIN_CRL'
  | 'ERR_CHAIN_DEPTH'
  | 'ERR_CHAIN_BUDGET'
  | 'ERR_CHAIN_MALFORMED'
  /** The certificate to validate is itself one of the trust anchors: it anchors paths, it is not the end of one. */
  | 'ERR_CHAIN_LEAF_IS_ANCHOR';

/** One check on one certificate (or on the whole path): its name, outcome and, when it failed, why. */
export interface PathCheck {
  readonly name: string;
  readonly ok: boolean;
  /** Readable subject of the certificate the check is about, when it is about one. */
  readonly subject?: string;
  readonly reason?: string;
  /** Set on failed checks. */
  readonly code?: ChainErrorCode;
}

/**
 * Where a certificate's revocation status stands: `good` or `revoked` when a verified CRL of its issuer, current at
 * the validation time, established it; `unknown` when no such CRL did (none supplied, or only CRLs that do not
 * count as evidence).
 */
export type RevocationState = 'good' | 'revoked' | 'unknown';

/** The revocation check of one certificate of a path, with its outcome as evidence. */
export interface RevocationStatus extends PathCheck {
  /** Readable name of the certificate's issuer: whose CRL establishes (or would establish) the status. */
  readonly issuer: string;
  readonly status: RevocationState;
  /** When revoked: from when the certificate is no longer to be trusted (see `revocationTime`), if known. */
  readonly revokedAt?: Date;
}

/** The outcome of path validation. `chain` runs from the leaf to the trust anchor. */
export interface PathReport {
  readonly ok: boolean;
  /** The accepted path (when ok), or the path the failure is about (when one was built). */
  readonly chain?: ParsedCertificate[];
  /**
   * On an accepted path validated with CRLs (or `requireCRL`): the revocation status of every certificate below
   * the trust anchor, in `chain` order (leaf first).
   */
  readonly revocation?: readonly RevocationStatus[];
  readonly checks: PathCheck[];
  /** The first failure's code, when not ok. */
  readonly code?: ChainErrorCode;
}

/** A failed check. */
export function failed(name: string, code: ChainErrorCode, reason: string, cert?: ParsedCertificate): PathCheck {
  return cert ? { name, ok: false, code, reason, subject: cert.subject.text } : { name, ok: false, code, reason };
}

/** A passed check. */
export function passed(name: string, cert?: ParsedCertificate, reason?: string): PathCheck {
  if (cert) return reason === undefined ? { name, ok: true, subject: cert.subject.text } : { name, ok: true, subject: cert.subject.text, reason };
  return reason === undefined ? { name, ok: true } : { name, ok: true, reason };
}
