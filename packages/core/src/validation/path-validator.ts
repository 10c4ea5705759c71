/**
 * A path validator built once per trust-anchor set. Path building is a depth-first search from the leaf over
 * candidate issuers (same subject name as the child's issuer, RFC 5280 7.1 comparison), preferring candidates whose
 * subjectKeyIdentifier matches the child's authorityKeyIdentifier and trust anchors over intermediates, with
 * backtracking when a candidate or a completed path fails. The search is bounded in depth and in the number of
 * candidates tried (the budget), so a hostile mesh of cross-signed CAs ends quickly with ERR_CHAIN_BUDGET.
 *
 * The shared CA part is paid for once: parsed intermediates are cached by DER, per-certificate profile checks and
 * signature verifications are cached per parsed certificate, so validating a device leaf under a known issuing CA
 * costs one signature check plus arithmetic. Revocation verdicts are cached per certificate, CRL set and time
 * (revocation.ts, which also follows a CA's key rollover to the key that signed its CRL).
 *
 * A certificate that is itself a trust anchor (the same DER, or the same subject name and key) is refused as the
 * leaf with ERR_CHAIN_LEAF_IS_ANCHOR: an anchor is where paths end, not a device identity or a signer under one.
 */
import { CustodyError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { toHex, equalBytes } from '../util/bytes.js';
import { parseCertificate, type ParsedCertificate } from './certificate.js';
import { parseCRL, type ParsedCRL } from './crl.js';
import type { KeyUsageName } from './extensions.js';
import { processPath, validityCheck } from './process-path.js';
import { profileChecks, type CertificateRole } from './profile-checks.js';
import { failed, passed, type PathCheck, type PathReport, type RevocationStatus } from './report.js';
import { ISSUER_BUDGET, RevocationChecker, type RevocationSession } from './revocation.js';
import { createProviderVerifier, type SignatureVerifier } from './signature.js';

/** Default most non-self-issued intermediates in a path. */
export const DEFAULT_MAX_DEPTH = 6;
/** Default most candidate issuers tried in one validation. */
export const DEFAULT_BUDGET = 64;
/** Name-constraint comparisons allowed in one validation (the nc-dos bound). */
export const NAME_CONSTRAINT_WORK = 1 << 18;

/** Options fixed for the life of a validator. */
export interface PathValidatorOptions {
  readonly trustAnchors: ReadonlyArray<Uint8Array | ParsedCertificate>;
  /** Crypto for the default ECDSA verifier; ignored when `verifier` is given. */
  readonly provider?: CryptoProvider;
  /** Signature checks; defaults to `createProviderVerifier(provider)`. */
  readonly verifier?: SignatureVerifier;
  readonly maxDepth?: number;
  readonly budget?: number;
  /** Most parsed intermediates and CRLs kept (default 1024). */
  readonly cacheSize?: number;
}

/** Options of one validation. */
export interface ValidateOptions {
  readonly leaf: Uint8Array | ParsedCertificate;
  readonly intermediates?: ReadonlyArray<Uint8Array | ParsedCertificate>;
  /** Validation time: core reads no clock. */
  readonly at: Date;
  readonly crls?: ReadonlyArray<Uint8Array | ParsedCRL>;
  /** Fail with ERR_CHAIN_CRL when no verified, current CRL of its issuer establishes a certificate's status. */
  readonly requireCRL?: boolean;
  readonly maxDepth?: number;
  readonly requiredKeyUsage?: readonly KeyUsageName[];
  /** Required extended key usages (OIDs). */
  readonly requiredEKU?: readonly string[];
  readonly budget?: number;
}

/** What `revocationStatus` checks a chain against. */
export interface RevocationOptions {
  readonly crls: ReadonlyArray<Uint8Array | ParsedCRL>;
  readonly at: Date;
  /** Where a rolled-over CA key's certificate (the signer of a CRL) may be found. */
  readonly intermediates?: ReadonlyArray<Uint8Array | ParsedCertificate>;
}

/** How a validation runs besides its options: restricted to one anchor, and without rollover (a CRL-issuer path). */
interface Internal {
  readonly anchor?: ParsedCertificate;
  readonly byName?: ReadonlyMap<string, readonly ParsedCertificate[]>;
  readonly nested?: boolean;
}

interface Failure {
  readonly depth: number;
  readonly checks: PathCheck[];
  readonly chain: ParsedCertificate[];
}

class BudgetExceeded extends Error {}

type SigResult = { ok: boolean; reason?: string };

/** A validator for one set of trust anchors, reusable across many validations. */
export class PathValidator {
  readonly #anchors = new Map<string, ParsedCertificate[]>();
  readonly #anchorIds = new Set<string>();
  /** Every anchor of `#anchors`, once. */
  readonly #anchorList: ParsedCertificate[] = [];
  readonly #verifier: SignatureVerifier;
  readonly #maxDepth: number;
  readonly #budget: number;
  readonly #cacheSize: number;
  readonly #parsed = new Map<string, ParsedCertificate>();
  readonly #parsedCRLs = new Map<string, ParsedCRL>();
  readonly #profiles = new WeakMap<ParsedCertificate, Map<CertificateRole, PathCheck[]>>();
  readonly #sigs = new WeakMap<object, WeakMap<ParsedCertificate, Promise<SigResult>>>();
  readonly #revocation = new RevocationChecker(
    (crl, signer) => this.#verifySigned(crl, { spki: signer.spki, algorithm: crl.signatureAlgorithm, data: crl.tbs, signature: crl.signature }, signer),
    async (candidate, anchor, session) =>
      (
        await this.#run(
          { leaf: candidate, at: session.at, crls: session.crls, requiredKeyUsage: ['cRLSign'], budget: ISSUER_BUDGET },
          { anchor, byName: session.candidates?.() ?? new Map(), nested: true },
        )
      ).ok,
  );

  /**
   * @throws CustodyError ERR_CERT_PARSE when a trust anchor does not parse; TypeError without a provider or verifier.
   */
  constructor(options: PathValidatorOptions) {
    if (options.verifier) this.#verifier = options.verifier;
    else if (options.provider) this.#verifier = createProviderVerifier(options.provider);
    else throw new TypeError('PathValidator needs a provider or a verifier');
    this.#maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.#budget = options.budget ?? DEFAULT_BUDGET;
    this.#cacheSize = options.cacheSize ?? 1024;
    for (const a of options.trustAnchors) {
      const cert = a instanceof Uint8Array ? parseCertificate(a) : a;
      if (this.#anchorIds.has(cert.id)) continue;
      this.#anchorIds.add(cert.id);
      const list = this.#anchors.get(cert.subject.key) ?? [];
      list.push(cert);
      this.#anchorList.push(cert);
      this.#anchors.set(cert.subject.key, list);
    }
  }

  #cached<T>(cache: Map<string, T>, der: Uint8Array, parse: (d: Uint8Array) => T): T {
    const key = toHex(der);
    let hit = cache.get(key);
    if (!hit) {
      hit = parse(der);
      if (cache.size >= this.#cacheSize) cache.delete(cache.keys().next().value!);
      cache.set(key, hit);
    }
    return hit;
  }

  #profile = (cert: ParsedCertificate, role: CertificateRole): PathCheck[] => {
    // A leaf is checked once per validation (processPath), and a validation's leaf is most often parsed for it (a
    // device certificate per bundle): an entry of its own in the weak cache would be garbage never read again.
    // The CAs and anchors, met again by every validation under them, are cached.
    if (role === 'leaf') return profileChecks(cert, role);
    let m = this.#profiles.get(cert);
    if (!m) this.#profiles.set(cert, (m = new Map()));
    let hit = m.get(role);
    if (!hit) m.set(role, (hit = profileChecks(cert, role)));
    return hit;
  };

  /** Whether `crl` is signed by the key of `issuer` (cached per CRL and certificate, like every signature here). */
  verifyCRLSignature(crl: ParsedCRL, issuer: ParsedCertificate): Promise<{ ok: boolean; reason?: string }> {
    return this.#verifySigned(crl, { spki: issuer.spki, algorithm: crl.signatureAlgorithm, data: crl.tbs, signature: crl.signature }, issuer);
  }

  /** One signature check, not cached (see `#verifySigned`). */
  #verifyOnce(input: Parameters<SignatureVerifier>[0]): Promise<SigResult> {
    return this.#verifier(input).then(
      (ok) => (ok ? { ok } : { ok, reason: 'signature does not verify' }),
      (e: unknown) => ({ ok: false, reason: (e as Error).message }),
    );
  }

  #verifySigned(signed: object, input: Parameters<SignatureVerifier>[0], issuer: ParsedCertificate): Promise<SigResult> {
    let m = this.#sigs.get(signed);
    if (!m) this.#sigs.set(signed, (m = new WeakMap()));
    let hit = m.get(issuer);
    if (!hit) {
      hit = this.#verifyOnce(input);
      m.set(issuer, hit);
    }
    return hit;
  }

  /** True when `cert` is one of the trust anchors: the same DER, or the same subject name and key. */
  isTrustAnchor(cert: ParsedCertificate): boolean {
    // As `#anchorIds.has(cert.id) ||` a lookup of the anchors by subject name, without writing the certificate's
    // DER in hex (its id) or rendering its name: the bytes are compared, the name only for an anchor's key.
    for (const a of this.#anchorList) {
      if (equalBytes(a.der, cert.der)) return true;
      if (equalBytes(a.spki, cert.spki) && a.subject.key === cert.subject.key) return true;
    }
    return false;
  }

  #byName(intermediates: ReadonlyArray<Uint8Array | ParsedCertificate>, notes: PathCheck[]): Map<string, ParsedCertificate[]> {
    const byName = new Map<string, ParsedCertificate[]>();
    for (const i of intermediates) {
      let cert: ParsedCertificate;
      try {
        cert = i instanceof Uint8Array ? this.#cached(this.#parsed, i, parseCertificate) : i;
      } catch (e) {
        notes.push(passed('intermediates', undefined, `ignored an intermediate that does not parse: ${(e as Error).message}`));
        continue;
      }
      if (this.#anchorIds.has(cert.id)) continue;
      const list = byName.get(cert.subject.key) ?? [];
      if (!list.some((c) => c.id === cert.id)) list.push(cert);
      byName.set(cert.subject.key, list);
    }
    return byName;
  }

  /**
   * The revocation status of every certificate of `chain` below its trust anchor (leaf first; `chain` as a
   * PathReport gives it, the anchor last), under `crls` at `at`: the verdicts path validation reaches, from the
   * same cache.
   * @throws CustodyError ERR_CRL_PARSE when a CRL given as DER does not parse; TypeError on an invalid `at`
   */
  async revocationStatus(chain: readonly ParsedCertificate[], options: RevocationOptions): Promise<RevocationStatus[]> {
    const { at } = options;
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new TypeError('revocationStatus: `at` must be a valid Date');
    const crls = options.crls.map((c) => (c instanceof Uint8Array ? this.#cached(this.#parsedCRLs, c, parseCRL) : c));
    const when = new Date(Math.floor(at.getTime() / 1000) * 1000);
    let byName: Map<string, ParsedCertificate[]> | undefined;
    const session = this.#revocation.session(crls, when, false, () => (byName ??= this.#byName(options.intermediates ?? [], [])));
    const anchor = chain[chain.length - 1]!;
    const out: RevocationStatus[] = [];
    for (let i = 0; i + 1 < chain.length; i++) out.push(await this.#revocation.check(chain[i]!, chain[i + 1]!, anchor, session));
    return out;
  }

  /** Builds and validates a path from `leaf` to one of the trust anchors. Never throws for bad certificates. */
  async validate(options: ValidateOptions): Promise<PathReport> {
    const { at } = options;
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new TypeError('validate: `at` must be a valid Date');
    return this.#run(options, {});
  }

  async #run(options: ValidateOptions, internal: Internal): Promise<PathReport> {
    const when = new Date(Math.floor(options.at.getTime() / 1000) * 1000);
    let leaf: ParsedCertificate;
    try {
      leaf = options.leaf instanceof Uint8Array ? parseCertificate(options.leaf) : options.leaf;
    } catch (e) {
      return { ok: false, code: 'ERR_CHAIN_MALFORMED', checks: [failed('parse', 'ERR_CHAIN_MALFORMED', (e as Error).message)] };
    }
    if (this.isTrustAnchor(leaf)) {
      return {
        ok: false,
        code: 'ERR_CHAIN_LEAF_IS_ANCHOR',
        chain: [leaf],
        checks: [
          failed(
            'trust-anchor',
            'ERR_CHAIN_LEAF_IS_ANCHOR',
            'is itself a trust anchor; a trust anchor ends paths and cannot be the certificate validated under one (a device identity, an attestation signer)',
            leaf,
          ),
        ],
      };
    }
    const notes: PathCheck[] = [];
    const byName = internal.byName ?? this.#byName(options.intermediates ?? [], notes);
    let crls: ParsedCRL[];
    try {
      crls = (options.crls ?? []).map((c) => (c instanceof Uint8Array ? this.#cached(this.#parsedCRLs, c, parseCRL) : c));
    } catch (e) {
      return { ok: false, code: 'ERR_CHAIN_CRL', checks: [failed('revocation', 'ERR_CHAIN_CRL', (e as Error).message)] };
    }
    const requireCRL = options.requireCRL ?? false;
    let session: RevocationSession | undefined;
    const revocation =
      crls.length > 0 || requireCRL
        ? (cert: ParsedCertificate, issuer: ParsedCertificate, anchor: ParsedCertificate) =>
            this.#revocation.check(
              cert,
              issuer,
              anchor,
              (session ??= this.#revocation.session(crls, when, requireCRL, internal.nested ? undefined : () => byName)),
            )
        : undefined;
    const maxDepth = options.maxDepth ?? this.#maxDepth;
    const ctx = {
      at: when,
      maxDepth,
      requiredKeyUsage: options.requiredKeyUsage ?? [],
      requiredEKU: options.requiredEKU ?? [],
      ...(revocation ? { revocation } : {}),
      profile: this.#profile,
      meter: { left: NAME_CONSTRAINT_WORK },
    };
    const maxIntermediates = maxDepth + 4;
    let budget = options.budget ?? this.#budget;
    let best: Failure | undefined;
    const record = (f: Failure) => {
      if (!best || f.depth > best.depth) best = f;
    };

    const search = async (path: ParsedCertificate[]): Promise<PathReport | undefined> => {
      const child = path[path.length - 1]!;
      const named = this.#anchors.get(child.issuer.key) ?? [];
      const anchors = internal.anchor ? named.filter((a) => a === internal.anchor) : named;
      const inters = byName.get(child.issuer.key) ?? [];
      const aki = child.authorityKeyId?.keyIdentifier;
      const rank = (c: ParsedCertificate) => (!aki || !c.subjectKeyId ? 1 : equalBytes(aki, c.subjectKeyId) ? 0 : 2);
      const candidates = [...anchors.map((c) => ({ c, anchor: true })), ...inters.map((c) => ({ c, anchor: false }))].sort((a, b) => rank(a.c) - rank(b.c));
      for (const { c, anchor } of candidates) {
        // Same DER (the ids are its hex), or the same key and name: compared without writing the leaf's id.
        if (path.some((p) => p === c || equalBytes(p.der, c.der) || (equalBytes(p.spki, c.spki) && p.subject.key === c.subject.key))) continue;
        const chain = [...path, c];
        if (!anchor && path.length > maxIntermediates) {
          record({ depth: chain.length, chain, checks: [failed('depth', 'ERR_CHAIN_DEPTH', `path longer than ${maxIntermediates} intermediates`)] });
          continue;
        }
        if (--budget < 0) throw new BudgetExceeded();
        const pre = [...this.#profile(c, anchor ? 'anchor' : 'ca'), validityCheck(c, when)].filter((k) => !k.ok);
        if (pre.length > 0) {
          record({ depth: chain.length, chain, checks: pre });
          continue;
        }
        const input = { spki: c.spki, algorithm: child.signatureAlgorithm, data: child.tbs, signature: child.signature };
        // The leaf's signature by each candidate is checked once in a search, and the leaf of a validation is most
        // often parsed for it (a device per bundle): cached, it would only add a weak map per leaf to the garbage.
        // A CA's, met again by every validation under it, is cached; so is a nested run's (a CRL issuer's path).
        const sig = path.length === 1 && !internal.nested ? await this.#verifyOnce(input) : await this.#verifySigned(child, input, c);
        if (!sig.ok) {
          record({ depth: chain.length, chain, checks: [failed('signature', 'ERR_CHAIN_SIGNATURE', `${sig.reason} (issuer "${c.subject.text}")`, child)] });
          continue;
        }
        if (anchor) {
          const checks = [...notes, ...chainSignatureChecks(chain), ...(await processPath(chain, ctx))];
          const bad = checks.find((k) => !k.ok);
          if (!bad) return revocation ? { ok: true, chain, checks, revocation: revocationOf(checks) } : { ok: true, chain, checks };
          record({ depth: chain.length, chain, checks });
          continue;
        }
        const found = await search(chain);
        if (found) return found;
      }
      return undefined;
    };

    try {
      const found = await search([leaf]);
      if (found) return found;
    } catch (e) {
      if (!(e instanceof BudgetExceeded)) throw e;
      return {
        ok: false,
        code: 'ERR_CHAIN_BUDGET',
        checks: [...notes, failed('path-building', 'ERR_CHAIN_BUDGET', `gave up after trying ${options.budget ?? this.#budget} candidate issuers`)],
      };
    }
    if (best) {
      const b: Failure = best;
      const first = b.checks.find((k) => !k.ok)!;
      return { ok: false, code: first.code!, chain: b.chain, checks: [...notes, ...b.checks] };
    }
    return {
      ok: false,
      code: 'ERR_CHAIN_NO_PATH',
      checks: [
        ...notes,
        failed('path-building', 'ERR_CHAIN_NO_PATH', `no trust anchor or intermediate named "${leaf.issuer.text}" leads to a trust anchor`, leaf),
      ],
    };
  }

  /**
   * Like `validate`, but throws on failure.
   * @throws CustodyError with the report's ERR_CHAIN_* code; `cause` holds the report.
   */
  async verify(options: ValidateOptions): Promise<PathReport> {
    const report = await this.validate(options);
    if (!report.ok) throw reportError(report);
    return report;
  }
}

/** The revocation checks of an accepted path, leaf first (processPath runs from the anchor down). */
function revocationOf(checks: readonly PathCheck[]): RevocationStatus[] {
  const out: RevocationStatus[] = [];
  for (const k of checks) if ('status' in k) out.unshift(k as RevocationStatus);
  return out;
}

function chainSignatureChecks(chain: readonly ParsedCertificate[]): PathCheck[] {
  return chain.slice(0, -1).map((c, i) => passed('signature', c, `signed by "${chain[i + 1]!.subject.text}"`));
}

/** The CustodyError a failed report turns into. */
export function reportError(report: PathReport): CustodyError {
  const first = report.checks.find((k) => !k.ok);
  const what = first ? `${first.name}${first.subject ? ` of "${first.subject}"` : ''}: ${first.reason ?? 'failed'}` : 'path validation failed';
  return new CustodyError(report.code ?? 'ERR_CHAIN_NO_PATH', `certificate path rejected: ${what}`, { cause: report });
}
