/**
 * Trust in attestation signers, paid for once per party: a party certificate is checked the first time it is seen
 * and the outcome cached by the hash of its DER: not a trust anchor itself (ERR_CHAIN_LEAF_IS_ANCHOR), the signer
 * profile (signer-profile.ts: custody EKU listed, keyUsage digitalSignature, not a CA, not a device identity;
 * ERR_VERIFY_SIGNER_*), then its certification path. Later attestations by the same party cost a validity-window
 * check at their signing time and, when CRLs are in play, the validator's cached revocation verdicts.
 *
 * Why a cached path stays valid: path validation depends on time only through the certificates' validity
 * windows (re-checked per signing time here) and CRLs (checked here per CRL set, at the verification time).
 */
import { OID } from '../asn1/oids.js';
import { ecdsaDERToP1363, isLowS } from '../crypto/ecdsa-signature.js';
import { spkiCurve } from '../x509/certificate-info.js';
import type { ParsedCertificate } from '../validation/certificate.js';
import { parseCertificate } from '../validation/certificate.js';
import type { ParsedCRL } from '../validation/crl.js';
import type { PathValidator } from '../validation/path-validator.js';
import type { RevocationStatus } from '../validation/report.js';
import type { PartyIdentity } from '../workflow/signer-rule.js';
import { partyIdentity } from './party-identity.js';
import { fail, pass, type VerificationCheck } from './report.js';
import { attestationSignerProblem } from './signer-profile.js';

/** A party whose certificate path is trusted. */
export interface TrustedParty {
  readonly certificate: ParsedCertificate;
  /** From the party certificate to the trust anchor. */
  readonly chain: readonly ParsedCertificate[];
  readonly identity: PartyIdentity;
}

/** What `PartyTrust.check` concluded for one attestation. */
export interface PartyOutcome {
  readonly check: VerificationCheck;
  readonly party?: TrustedParty;
  /**
   * Set when the only fault is the revocation of the party certificate itself (not of a CA above it): from when
   * it is revoked. `check` then fails with ERR_CHAIN_REVOKED, which log evidence may lift (`revoked-signer.ts`).
   */
  readonly revokedAt?: Date;
  /**
   * When CRLs were checked: the revocation status of every certificate of the party's path below its trust
   * anchor (party certificate first), with whether a verified, current CRL established it.
   */
  readonly revocation?: readonly RevocationStatus[];
}

/** A revocation verdict: the check, and the time of the party certificate's own revocation (see PartyOutcome). */
interface RevocationVerdict {
  readonly check: VerificationCheck;
  readonly revokedAt?: Date;
  readonly revocation: readonly RevocationStatus[];
}

const MAX_ENTRIES = 4096;
/** Codes of a signer refused for what it is, kept in the signer check (other path failures are ERR_VERIFY_SIGNER). */
const OWN_CODES = new Set([
  'ERR_CHAIN_LEAF_IS_ANCHOR',
  'ERR_VERIFY_SIGNER_DEVICE',
  'ERR_VERIFY_SIGNER_CA',
  'ERR_VERIFY_SIGNER_EKU',
  'ERR_VERIFY_SIGNER_KEY_USAGE',
  'ERR_VERIFY_SIGNER_HIGH_S',
]);
const TIME_CODES = new Set(['ERR_CHAIN_EXPIRED', 'ERR_CHAIN_NOT_YET_VALID']);

/** Hex SHA-256 of some bytes. */
export type HexDigest = (data: Uint8Array) => string;

/** The per-verifier cache of trusted parties. */
export class PartyTrust {
  readonly #paths = new Map<string, Promise<TrustedParty>>();

  /** CRL signatures are the validator's to check: its cached verdicts serve the device path and every party. */
  constructor(
    private readonly validator: PathValidator,
    private readonly hexDigest: HexDigest,
  ) {}

  /**
   * Whether the certificate `der` (hash `certHash`) may sign attestations at `signingTime`, and whether it is
   * revoked under `crls` at `at`. Never throws.
   */
  async check(
    der: Uint8Array,
    certHash: string,
    intermediates: readonly ParsedCertificate[],
    signingTime: Date,
    crls: readonly ParsedCRL[],
    at: Date,
    n: number,
  ): Promise<PartyOutcome> {
    const name = `attestation ${n}: signer`;
    let party: TrustedParty;
    try {
      party = await this.#path(der, certHash, intermediates, signingTime);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code && TIME_CODES.has(code))
        return { check: fail(name, code, `signer certificate is not valid at the signing time ${signingTime.toISOString()}: ${(e as Error).message}`, n) };
      if (code && OWN_CODES.has(code)) return { check: fail(name, code, `the signer is not an attestation signer: ${(e as Error).message}`, n) };
      return { check: fail(name, 'ERR_VERIFY_SIGNER', `the signer is not a trusted attestation signer: ${(e as Error).message}`, n) };
    }
    for (const c of party.chain) {
      if (signingTime < c.notBefore)
        return {
          check: fail(
            name,
            'ERR_CHAIN_NOT_YET_VALID',
            `"${c.subject.text}" is not valid until ${c.notBefore.toISOString()}, signed ${signingTime.toISOString()}`,
            n,
          ),
          party,
        };
      if (signingTime > c.notAfter)
        return {
          check: fail(name, 'ERR_CHAIN_EXPIRED', `"${c.subject.text}" expired ${c.notAfter.toISOString()}, signed ${signingTime.toISOString()}`, n),
          party,
        };
    }
    const trusted = pass(name, `"${party.identity.subjectDN}", trusted through "${party.chain[party.chain.length - 1]!.subject.text}"`, n);
    if (crls.length === 0) return { check: trusted, party };
    const rev = await this.#revoked(party, intermediates, crls, at, n);
    if (rev.check.ok) return { check: trusted, party, revocation: rev.revocation };
    return rev.revokedAt
      ? { check: rev.check, party, revokedAt: rev.revokedAt, revocation: rev.revocation }
      : { check: rev.check, party, revocation: rev.revocation };
  }

  #path(der: Uint8Array, certHash: string, intermediates: readonly ParsedCertificate[], at: Date): Promise<TrustedParty> {
    const hit = this.#paths.get(certHash);
    if (hit) return hit;
    const p = (async (): Promise<TrustedParty> => {
      const certificate = parseCertificate(der);
      if (this.validator.isTrustAnchor(certificate)) {
        throw Object.assign(new Error(`"${certificate.subject.text}" is itself a trust anchor; a trust anchor cannot be an attestation signer`), {
          code: 'ERR_CHAIN_LEAF_IS_ANCHOR',
        });
      }
      const problem = attestationSignerProblem(certificate);
      if (problem) throw Object.assign(new Error(problem.reason), { code: problem.code });
      const report = await this.validator.validate({
        leaf: certificate,
        intermediates,
        at,
        requiredKeyUsage: ['digitalSignature'],
        requiredEKU: [OID.custodyAttestation],
      });
      if (!report.ok || !report.chain) {
        const first = report.checks.find((k) => !k.ok);
        const err = new Error(
          `${report.code}: ${first ? `${first.name}${first.subject ? ` of "${first.subject}"` : ''}: ${first.reason ?? 'failed'}` : 'path rejected'}`,
        );
        throw Object.assign(err, { code: report.code });
      }
      const chain = report.chain;
      // The certificate is spliced into each attestation it signs, and the attestation is named by the hash of
      // those bytes. Its issuer's ECDSA signature is the one part not fixed by that issuer: a high-S one has a
      // twin (n - s) that verifies too, so anyone could make a second, equally valid attestation of another hash.
      const twin = highSCertificate(certificate, chain[1]);
      if (twin) throw Object.assign(new Error(twin), { code: 'ERR_VERIFY_SIGNER_HIGH_S' });
      const identity = partyIdentity(chain, {
        cert: certHash,
        spki: this.hexDigest(certificate.spki),
        ...(chain.length > 1 ? { issuer: this.hexDigest(chain[1]!.der) } : {}),
      });
      return { certificate, chain, identity };
    })();
    if (this.#paths.size >= MAX_ENTRIES) this.#paths.delete(this.#paths.keys().next().value!);
    this.#paths.set(certHash, p);
    // Failures are not cached: they may depend on the intermediates or the time of one bundle.
    p.catch(() => this.#paths.delete(certHash));
    return p;
  }

  async #revoked(
    party: TrustedParty,
    intermediates: readonly ParsedCertificate[],
    crls: readonly ParsedCRL[],
    at: Date,
    n: number,
  ): Promise<RevocationVerdict> {
    const name = `attestation ${n}: signer revocation`;
    const revocation = await this.validator.revocationStatus(party.chain, { crls, at, intermediates });
    let own: RevocationVerdict | undefined;
    for (const [i, r] of revocation.entries()) {
      if (r.ok) continue;
      const check = fail(name, r.code ?? 'ERR_CHAIN_CRL', `${r.subject ? `"${r.subject}": ` : ''}${r.reason ?? 'revocation check failed'}`, n);
      // The party certificate's own revocation is remembered while its CAs are checked: a revoked CA leaves
      // nothing to lift.
      if (i === 0 && r.revokedAt) own = { check, revokedAt: r.revokedAt, revocation };
      else return { check, revocation };
    }
    return own ?? { check: pass(name, 'not revoked', n), revocation };
  }
}

/**
 * Why `cert`'s signature by `issuer` has a twin, when it is an ECDSA signature whose s is above n/2; undefined for
 * a low-S or a non-ECDSA signature (RSA PKCS#1 v1.5 has no such twin).
 */
function highSCertificate(cert: ParsedCertificate, issuer: ParsedCertificate | undefined): string | undefined {
  if (!issuer || !cert.signatureAlgorithm.oid.startsWith(ECDSA_WITH_SHA2)) return undefined;
  const curve = spkiCurve(issuer.spki);
  if (!curve) return undefined;
  let p1363: Uint8Array;
  try {
    p1363 = ecdsaDERToP1363(cert.signature, curve);
  } catch {
    return undefined; // the path validator checked this signature: it parses
  }
  if (isLowS(p1363, curve)) return undefined;
  return `"${cert.subject.text}" carries a high-S ECDSA signature by its issuer: its twin (n - s) verifies too and would rename every attestation it signs; custody accepts attestation signers whose certificate is signed low-S (re-issue it; custody's CAs sign low-S)`;
}

/** ecdsa-with-SHA256/384/512 (RFC 5758 3.2) share this arc. */
const ECDSA_WITH_SHA2 = '1.2.840.10045.4.3.';
