/**
 * The CA certificates and CRLs a bundle carries, as the checks read them. Its CA certificates are parsed once per
 * verifier (a pallet shares its issuing CA), by their bytes. Its CRLs count only when a certificate of the bundle
 * or a trust anchor with the CRL's issuer name (and key id, where the CRL names one) signed them: a CRL nobody's
 * path would read is refused, not ignored, since every byte of a bundle counts.
 */
import { equalBytes } from '../util/bytes.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import { parseCRL, type ParsedCRL } from '../validation/crl.js';
import { namesEqual } from '../validation/name.js';
import type { PathValidator } from '../validation/path-validator.js';
import type { RecentDigests } from './recent-digests.js';
import { fail, type VerificationCheck } from './report.js';

const MAX_CACHED_CRLS = 64;
const MAX_CACHED_CAS = 256;

/** Parsed CA certificates and CRLs of the bundles one verifier meets, remembered by their hash. */
export class CarriedEvidence {
  readonly #cas = new Map<string, ParsedCertificate | null>();
  readonly #crls = new Map<string, ParsedCRL>();

  constructor(
    private readonly validator: PathValidator,
    private readonly recent: RecentDigests,
    private readonly hexDigest: (data: Uint8Array) => string,
    private readonly anchors: readonly ParsedCertificate[],
  ) {}

  /** The bundle's certificates after the device's that parse as CA certificates; path building reports the rest. */
  intermediates(certificates: readonly Uint8Array[]): ParsedCertificate[] {
    const out: ParsedCertificate[] = [];
    for (let i = 1; i < certificates.length; i++) {
      const c = this.#ca(certificates[i]!);
      if (c) out.push(c);
    }
    return out;
  }

  #ca(der: Uint8Array): ParsedCertificate | undefined {
    const key = this.recent.of(der);
    let hit = this.#cas.get(key);
    if (hit === undefined) {
      try {
        const c = parseCertificate(der);
        hit = c.basicConstraints?.cA ? c : null;
      } catch {
        hit = null; // not a usable intermediate; path building reports what is missing
      }
      if (this.#cas.size >= MAX_CACHED_CAS) this.#cas.delete(this.#cas.keys().next().value!);
      this.#cas.set(key, hit);
    }
    return hit ?? undefined;
  }

  /**
   * The bundle's CRLs, parsed.
   * @throws ERR_CRL_PARSE when one does not parse
   */
  crls(ders: readonly Uint8Array[]): ParsedCRL[] {
    const parsed: ParsedCRL[] = [];
    for (const der of ders) {
      const key = this.hexDigest(der);
      let hit = this.#crls.get(key);
      if (!hit) {
        hit = parseCRL(der);
        if (this.#crls.size >= MAX_CACHED_CRLS) this.#crls.delete(this.#crls.keys().next().value!);
        this.#crls.set(key, hit);
      }
      parsed.push(hit);
    }
    return parsed;
  }

  /**
   * A failed check for each carried CRL that no certificate of the bundle or the trust anchors signed.
   * @throws ERR_CERT_PARSE when a certificate of the bundle does not parse
   */
  async unsignedCRLs(carried: readonly ParsedCRL[], certificates: readonly Uint8Array[]): Promise<VerificationCheck[]> {
    const held = [...certificates.map((der) => parseCertificate(der)), ...this.anchors];
    const checks: VerificationCheck[] = [];
    for (const [i, crl] of carried.entries()) {
      const problem = await this.#problem(crl, held);
      if (problem) checks.push(fail('bundle: crls', 'ERR_VERIFY_BUNDLE_CRL', `CRL ${i} (issued by "${crl.issuer.text}"): ${problem}`));
    }
    return checks;
  }

  /** Why a carried CRL does not stand: no CA of `held` by its issuer name (and key id) signed it. */
  async #problem(crl: ParsedCRL, held: readonly ParsedCertificate[]): Promise<string | undefined> {
    const aki = crl.authorityKeyId?.keyIdentifier;
    const signers = held.filter((c) => namesEqual(c.subject, crl.issuer) && (!aki || (c.subjectKeyId !== undefined && equalBytes(c.subjectKeyId, aki))));
    if (signers.length === 0) return 'no certificate of the bundle or the trust anchors is its issuer';
    for (const c of signers) if ((await this.validator.verifyCRLSignature(crl, c)).ok) return undefined;
    return "its signature does not verify under its issuer's key";
  }
}
