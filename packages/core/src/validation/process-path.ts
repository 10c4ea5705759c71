/**
 * RFC 5280 6.1 processing of one candidate path whose signatures and name chaining the builder has already
 * checked. The trust anchor is processed as a certificate of the path (its validity, profile, pathLenConstraint and
 * name constraints apply, as RFC 5937 allows), but its own signature is not checked.
 *
 * Choices (documented here because they are policy):
 * - validity is compared at whole seconds (`at` is floored), the granularity of the encoding;
 * - self-issued intermediates neither count against pathLenConstraint nor against `maxDepth` (6.1.4 (l)), and are
 *   exempt from name constraints unless they are the leaf (6.1.3 (b));
 * - required EKUs must appear in the leaf's extKeyUsage (or the leaf has none, or it holds anyExtendedKeyUsage,
 *   4.2.1.12), and in the extKeyUsage of every CA of the path that carries one (or anyExtendedKeyUsage there);
 * - required keyUsage bits must be asserted by the leaf when it has a keyUsage extension.
 * These two are RFC 5280's general rules. A role that needs an explicit usage (a custody attestation signer must
 * list the custody EKU and assert digitalSignature) checks the leaf itself: see verification/signer-profile.ts.
 */
import { OID } from '../asn1/oids.js';
import type { ParsedCertificate } from './certificate.js';
import type { RevokedCheck } from './crl-check.js';
import type { KeyUsageName } from './extensions.js';
import { checkNameConstraints, type WorkMeter } from './name-constraints.js';
import type { CertificateRole } from './profile-checks.js';
import { failed, passed, type PathCheck } from './report.js';

/** What processing a path needs besides the path. */
export interface PathContext {
  /** Validation time, already floored to whole seconds. */
  readonly at: Date;
  /** Most non-self-issued intermediates allowed. */
  readonly maxDepth: number;
  readonly requiredKeyUsage: readonly KeyUsageName[];
  readonly requiredEKU: readonly string[];
  /** The revocation check of `cert` (issued by `issuer`, on a path to `anchor`); absent when there are no CRLs to check. */
  readonly revocation?: (cert: ParsedCertificate, issuer: ParsedCertificate, anchor: ParsedCertificate) => Promise<RevokedCheck>;
  /** Profile checks of a certificate in a role (cached by the validator). */
  readonly profile: (cert: ParsedCertificate, role: CertificateRole) => PathCheck[];
  readonly meter: WorkMeter;
}

/** The validity check of one certificate at `at`. */
export function validityCheck(cert: ParsedCertificate, at: Date): PathCheck {
  const t = at.getTime();
  if (t < cert.notBefore.getTime()) return failed('validity', 'ERR_CHAIN_NOT_YET_VALID', `not valid before ${cert.notBefore.toISOString()}`, cert);
  if (t > cert.notAfter.getTime()) return failed('validity', 'ERR_CHAIN_EXPIRED', `expired at ${cert.notAfter.toISOString()}`, cert);
  return passed('validity', cert);
}

function ekuCheck(cert: ParsedCertificate, required: readonly string[]): PathCheck | undefined {
  if (required.length === 0 || !cert.extKeyUsage) return undefined;
  if (cert.extKeyUsage.includes(OID.anyExtendedKeyUsage)) return passed('ext-key-usage', cert, 'anyExtendedKeyUsage');
  const missing = required.filter((r) => !cert.extKeyUsage!.includes(r));
  return missing.length === 0 ? passed('ext-key-usage', cert) : failed('ext-key-usage', 'ERR_CHAIN_EKU', `extKeyUsage lacks ${missing.join(', ')}`, cert);
}

/**
 * Every RFC 5280 6.1 check of `chain` (leaf first, trust anchor last) that does not involve a signature.
 * @returns the checks in path order from the anchor down; the path is valid when all pass.
 */
export async function processPath(chain: readonly ParsedCertificate[], ctx: PathContext): Promise<PathCheck[]> {
  const path = [...chain].reverse();
  const n = path.length;
  const out: PathCheck[] = [];
  const nonSelfIssuedBetween = (from: number): number => {
    let k = 0;
    for (let j = from; j < n - 1; j++) if (!path[j]!.selfIssued) k++;
    return k;
  };
  const depth = nonSelfIssuedBetween(1);
  out.push(
    depth <= ctx.maxDepth
      ? passed('depth', undefined, `${depth} intermediate(s)`)
      : failed('depth', 'ERR_CHAIN_DEPTH', `${depth} intermediates exceed the bound of ${ctx.maxDepth}`),
  );

  for (let i = 0; i < n; i++) {
    const cert = path[i]!;
    const leaf = i === n - 1;
    out.push(...ctx.profile(cert, leaf ? 'leaf' : i === 0 ? 'anchor' : 'ca'));
    out.push(validityCheck(cert, ctx.at));
    if (!leaf) {
      const pl = cert.basicConstraints?.pathLen;
      if (pl !== undefined) {
        const below = nonSelfIssuedBetween(i + 1);
        out.push(
          below <= pl
            ? passed('path-length', cert)
            : failed('path-length', 'ERR_CHAIN_PATHLEN', `pathLenConstraint ${pl} but ${below} intermediate(s) follow`, cert),
        );
      }
      if (cert.nameConstraints) {
        let bad: PathCheck | undefined;
        for (let j = i + 1; j < n && !bad; j++) {
          const sub = path[j]!;
          if (sub.selfIssued && j < n - 1) continue;
          const f = checkNameConstraints(sub, cert.nameConstraints, ctx.meter);
          if (f) bad = failed('name-constraints', f.code, `${f.reason} for "${sub.subject.text}"`, cert);
        }
        out.push(bad ?? passed('name-constraints', cert));
      }
      const eku = ekuCheck(cert, ctx.requiredEKU);
      if (eku) out.push(eku);
    } else {
      if (ctx.requiredKeyUsage.length > 0 && cert.keyUsage) {
        const missing = ctx.requiredKeyUsage.filter((k) => !cert.keyUsage!.has(k));
        out.push(missing.length === 0 ? passed('key-usage', cert) : failed('key-usage', 'ERR_CHAIN_KEY_USAGE', `keyUsage lacks ${missing.join(', ')}`, cert));
      }
      const eku = ekuCheck(cert, ctx.requiredEKU);
      if (eku) out.push(eku);
    }
    if (i > 0 && ctx.revocation) out.push(await ctx.revocation(cert, path[i - 1]!, path[0]!));
  }
  return out;
}
