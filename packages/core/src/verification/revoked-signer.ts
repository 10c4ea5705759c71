/**
 * The one exception to "a revoked signer rejects its attestations": an attestation its signer made before the
 * revocation, and that the transparency log proves it held before then, stays valid. Revocation stops what the
 * key may sign from then on; it cannot reach back into a log that already held the attestation.
 *
 * Accepted only when all of these hold, with R the time the party certificate stopped being trustworthy (its
 * CRL revocationDate, or its invalidityDate when earlier):
 *   - the attestation's signing time is before R (its own claim, bound by its signature);
 *   - the log proves it was logged before R: a checkpoint signed by a trusted log key, whose `timestamp` T is
 *     before R, contained its leaf (`verifyBundleLog` finds the earliest such time).
 * Anything else keeps the revocation's own code, ERR_CHAIN_REVOKED, with the reason saying what was missing.
 * Comparisons are strict and in whole seconds on both sides (CRL times and checkpoint timestamps are), so
 * T < R means the checkpoint was signed before the revocation took effect.
 */
import { formatStatementTime } from '../attestation/statement.js';
import { fail, pass, type VerificationCheck } from './report.js';

/** What is known about one attestation by a revoked party. */
export interface RevokedSignerEvidence {
  /** The failed revocation check of the party certificate (ERR_CHAIN_REVOKED). */
  readonly revoked: VerificationCheck;
  /** From when the party certificate is revoked. */
  readonly revokedAt: Date;
  /** The attestation's CMS signing time. */
  readonly signingTime: Date;
  /** The earliest time a trusted log proved the attestation logged by; undefined without such proof. */
  readonly loggedAt: Date | undefined;
}

/**
 * The signer revocation check of attestation `n` when its party certificate is revoked: passes only for an
 * attestation signed and provably logged before the revocation, else the revocation's failed check with why.
 */
export function revokedSignerCheck(e: RevokedSignerEvidence, n: number): VerificationCheck {
  const name = e.revoked.name;
  const rejected = (why: string): VerificationCheck => fail(name, e.revoked.code ?? 'ERR_CHAIN_REVOKED', `${e.revoked.reason ?? 'signer revoked'}; ${why}`, n);
  const r = e.revokedAt.getTime();
  if (e.signingTime.getTime() >= r)
    return rejected(`attestation ${n} is signed at ${formatStatementTime(e.signingTime)}, not before the revocation (${formatStatementTime(e.revokedAt)})`);
  if (e.loggedAt === undefined)
    return rejected(`no trusted log checkpoint proves attestation ${n} was logged before the revocation (${formatStatementTime(e.revokedAt)})`);
  if (e.loggedAt.getTime() >= r) {
    return rejected(
      `the earliest trusted log checkpoint holding attestation ${n} is dated ${formatStatementTime(e.loggedAt)}, not before the revocation (${formatStatementTime(e.revokedAt)})`,
    );
  }
  return pass(
    name,
    `revoked on ${formatStatementTime(e.revokedAt)}, but signed at ${formatStatementTime(e.signingTime)} and logged by ${formatStatementTime(e.loggedAt)}, before the revocation`,
    n,
  );
}
