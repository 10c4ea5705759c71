/**
 * One-shot path validation: a PathValidator for the given anchors, used once. Callers validating many leaves
 * under the same anchors should keep a PathValidator instead.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import type { ParsedCertificate } from './certificate.js';
import { PathValidator, reportError, type ValidateOptions } from './path-validator.js';
import type { PathReport } from './report.js';
import type { SignatureVerifier } from './signature.js';

/** Everything one validation needs: the leaf, candidates, anchors, time, crypto and limits. */
export interface ValidatePathOptions extends ValidateOptions {
  readonly trustAnchors: ReadonlyArray<Uint8Array | ParsedCertificate>;
  readonly provider?: CryptoProvider;
  readonly verifier?: SignatureVerifier;
}

/**
 * Builds and validates a certification path (RFC 5280 6.1) from `leaf` to one of `trustAnchors` at `at`.
 * @returns a report with every check; `code` is an ERR_CHAIN_* code when not ok.
 * @throws CustodyError ERR_CERT_PARSE when a trust anchor does not parse; TypeError on a missing provider/verifier
 *   or an invalid `at`.
 */
export async function validatePath(options: ValidatePathOptions): Promise<PathReport> {
  const { trustAnchors, provider, verifier, ...rest } = options;
  const v = new PathValidator({ trustAnchors, ...(provider ? { provider } : {}), ...(verifier ? { verifier } : {}) });
  return v.validate(rest);
}

/**
 * Like `validatePath`, but throws when the path is rejected.
 * @throws CustodyError with the ERR_CHAIN_* code of the first failed check (the report is its `cause`).
 */
export async function verifyPath(options: ValidatePathOptions): Promise<PathReport> {
  const report = await validatePath(options);
  if (!report.ok) throw reportError(report);
  return report;
}
