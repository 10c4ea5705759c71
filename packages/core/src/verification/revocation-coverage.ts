/**
 * Whether revocation was established for a verified chain: the evidence a policy's `revocationCheck` asks for.
 *
 * Covered only when the status of every certificate below the trust anchor, on every path (the device's and each
 * attestation signer's), was established by a CRL of its issuer that verified under the issuer's key (or under a
 * rolled-over key of that CA, validated to the same anchor) and is current at the verification time. The answer
 * comes from the verdicts of the revocation checks themselves (`PathValidator.revocationStatus`, whose cache the
 * device path validation and PartyTrust filled for this bundle, so this costs a few lookups), never from comparing
 * names: a CRL that merely names an issuer proves nothing.
 */
import type { ParsedCertificate } from '../validation/certificate.js';
import type { ParsedCRL } from '../validation/crl.js';
import type { PathValidator } from '../validation/path-validator.js';

/** One certificate whose status no verified, current CRL established. */
export interface RevocationGap {
  /** Readable name of the issuer whose CRL is missing. */
  readonly issuer: string;
  /** Readable name of the certificate. */
  readonly subject: string;
}

/** The revocation evidence of a chain. */
export interface RevocationCoverage {
  readonly covered: boolean;
  /** The certificates not covered, each once, in path order. */
  readonly missing: readonly RevocationGap[];
}

/** What the coverage of one bundle is computed against. */
export interface CoverageOptions {
  readonly crls: readonly ParsedCRL[];
  /** The bundle's CA certificates: where a rolled-over CRL signer may be found. */
  readonly intermediates: readonly ParsedCertificate[];
  readonly at: Date;
}

/** The reason text of one gap: `no verified current CRL from "<issuer>" (for "<subject>")`. */
export function describeRevocationGap(gap: RevocationGap): string {
  return `no verified current CRL from "${gap.issuer}" (for "${gap.subject}")`;
}

/**
 * The revocation coverage of `paths` (each from a certificate to its trust anchor, as validated). No paths is no
 * coverage.
 * @throws TypeError when `at` is not a valid Date
 */
export async function revocationCoverage(
  validator: PathValidator,
  paths: ReadonlyArray<readonly ParsedCertificate[]>,
  options: CoverageOptions,
): Promise<RevocationCoverage> {
  const missing = new Map<string, RevocationGap>();
  const gap = (issuer: string, subject: string) => {
    const key = `${issuer}\u0000${subject}`;
    if (!missing.has(key)) missing.set(key, { issuer, subject });
  };
  for (const chain of new Set(paths)) {
    if (options.crls.length === 0) {
      for (const c of chain.slice(0, -1)) gap(c.issuer.text, c.subject.text);
      continue;
    }
    const statuses = await validator.revocationStatus(chain, options);
    for (const [i, r] of statuses.entries()) if (r.status === 'unknown') gap(r.issuer, r.subject ?? chain[i]!.subject.text);
  }
  return { covered: paths.length > 0 && missing.size === 0, missing: [...missing.values()] };
}
