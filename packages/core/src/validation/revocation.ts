/**
 * Revocation checking for a PathValidator: each certificate's verdict cached per issuer, trust anchor, CRL set and
 * time, and the CRL-issuer path of a CA key rollover (RFC 5280 6.3.3 (f); the self-issued NewWithOld / OldWithNew
 * certificates of RFC 4210 4.4).
 *
 * Rollover: a CRL that names a certificate's issuer but is signed by another key of that CA (its AKI names another
 * key than the issuer certificate's) counts when a certificate for that key is found: the path's trust anchor
 * itself, or a candidate (an intermediate of the validation) whose subject is the CRL's issuer, whose
 * subjectKeyIdentifier is the CRL's AKI, which asserts cRLSign in a keyUsage extension (required here, as a custody
 * choice: a certificate met only as a CRL signer must say it signs CRLs), and which validates to the same trust
 * anchor as the certificate's path. That CRL-issuer path is validated against the same CRLs, without rollover (no
 * recursion). The search is bounded: MAX_CANDIDATES certificates per CRL, MAX_VALIDATIONS CRL-issuer path
 * validations per session (one path validation or one status query), each with a budget of ISSUER_BUDGET
 * candidate issuers.
 */
import { equalBytes } from '../util/bytes.js';
import type { ParsedCertificate } from './certificate.js';
import type { ParsedCRL } from './crl.js';
import { checkRevocation, type CRLSignatureCheck, type RevokedCheck } from './crl-check.js';

/** Most certificates tried as the signer of one CRL. */
export const MAX_CANDIDATES = 4;
/** Most CRL-issuer path validations in one session. */
export const MAX_VALIDATIONS = 4;
/** Candidate issuers one CRL-issuer path validation may try. */
export const ISSUER_BUDGET = 16;
const MAX_VERDICTS_PER_CERT = 16;

/** What one validation (or one status query) checks revocation against. */
export interface RevocationSession {
  readonly crls: readonly ParsedCRL[];
  /** Already floored to whole seconds. */
  readonly at: Date;
  /** A certificate whose status no CRL establishes fails with ERR_CHAIN_CRL. */
  readonly required: boolean;
  /**
   * Candidate CRL-issuer certificates by subject comparison key, built when first needed (most CRLs name the key of
   * the path's issuer certificate); absent: no rollover (on a CRL-issuer path).
   */
  readonly candidates?: () => ReadonlyMap<string, readonly ParsedCertificate[]>;
  /** Identifies the CRL set in cache keys. */
  readonly key: string;
  /** CRL-issuer path validations left. */
  left: number;
}

/** Validates `candidate` (a CRL signer) to exactly `anchor`, with the session's CRLs and time. */
export type CRLIssuerValidation = (candidate: ParsedCertificate, anchor: ParsedCertificate, session: RevocationSession) => Promise<boolean>;

/** Revocation verdicts and CRL-issuer paths of one validator. */
export class RevocationChecker {
  readonly #ids = new WeakMap<object, number>();
  #next = 1;
  readonly #verdicts = new WeakMap<ParsedCertificate, Map<string, Promise<RevokedCheck>>>();
  /** Candidates whose CRL-issuer path validated, by `<anchor>|<time>`. */
  readonly #issuers = new WeakMap<ParsedCertificate, Set<string>>();
  readonly #verify: CRLSignatureCheck;
  readonly #validateIssuer: CRLIssuerValidation;

  constructor(verify: CRLSignatureCheck, validateIssuer: CRLIssuerValidation) {
    this.#verify = verify;
    this.#validateIssuer = validateIssuer;
  }

  #id(o: object): number {
    let id = this.#ids.get(o);
    if (id === undefined) this.#ids.set(o, (id = this.#next++));
    return id;
  }

  /** A session over `crls` at `at` (floored); `candidates` enable rollover. */
  session(crls: readonly ParsedCRL[], at: Date, required: boolean, candidates?: () => ReadonlyMap<string, readonly ParsedCertificate[]>): RevocationSession {
    const key =
      crls.length === 0
        ? ''
        : crls.length === 1
          ? String(this.#id(crls[0]!))
          : crls
              .map((c) => this.#id(c))
              .sort((a, b) => a - b)
              .join(',');
    return candidates ? { crls, at, required, candidates, key, left: MAX_VALIDATIONS } : { crls, at, required, key, left: MAX_VALIDATIONS };
  }

  /** The revocation check of `cert`, issued by `issuer`, on a path to `anchor`. Never rejects. */
  check(cert: ParsedCertificate, issuer: ParsedCertificate, anchor: ParsedCertificate, s: RevocationSession): Promise<RevokedCheck> {
    const key = `${s.key}|${s.at.getTime()}|${this.#id(issuer)}|${this.#id(anchor)}|${s.candidates ? 'r' : ''}`;
    let m = this.#verdicts.get(cert);
    if (!m) this.#verdicts.set(cert, (m = new Map()));
    let hit = m.get(key);
    if (!hit) {
      let missed = false;
      const lookup = s.candidates
        ? async (crl: ParsedCRL) => {
            const signer = await this.#crlIssuer(crl, anchor, s);
            if (!signer) missed = true;
            return signer;
          }
        : undefined;
      const verdicts = m;
      hit = checkRevocation(cert, issuer, s.crls, s.at, this.#verify, false, lookup);
      if (verdicts.size >= MAX_VERDICTS_PER_CERT) verdicts.delete(verdicts.keys().next().value!);
      verdicts.set(key, hit);
      // A rollover CRL left out for want of its key's certificate may count (and revoke) in a validation that
      // carries that certificate: such a verdict is not kept.
      const forget = () => verdicts.delete(key);
      hit.then(() => missed && forget(), forget);
    }
    if (!s.required) return hit;
    return hit.then((r) => (r.ok && r.status === 'unknown' ? { ...r, ok: false, code: 'ERR_CHAIN_CRL' } : r));
  }

  async #crlIssuer(crl: ParsedCRL, anchor: ParsedCertificate, s: RevocationSession): Promise<ParsedCertificate | undefined> {
    const aki = crl.authorityKeyId?.keyIdentifier;
    if (!aki) return undefined;
    if (anchor.subject.key === crl.issuer.key && anchor.subjectKeyId && equalBytes(anchor.subjectKeyId, aki)) return anchor;
    const done = `${this.#id(anchor)}|${s.at.getTime()}`;
    let tried = 0;
    for (const c of s.candidates?.().get(crl.issuer.key) ?? []) {
      if (!c.subjectKeyId || !equalBytes(c.subjectKeyId, aki) || !c.keyUsage?.has('cRLSign')) continue;
      if (tried++ >= MAX_CANDIDATES) break;
      if (this.#issuers.get(c)?.has(done)) return c;
      if (s.left <= 0) break;
      s.left--;
      if (await this.#validateIssuer(c, anchor, s)) {
        let set = this.#issuers.get(c);
        if (!set) this.#issuers.set(c, (set = new Set()));
        if (set.size >= MAX_VERDICTS_PER_CERT) set.clear();
        set.add(done);
        return c;
      }
    }
    return undefined;
  }
}
