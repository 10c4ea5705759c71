/**
 * The device's decision on one piece of code under its enrolled policy. The signature is checked once by the one
 * code verifier (`@custody/core/code`) with every identity of the policy trusted; the type the verified statement
 * states and the path the code sits at on the device then pick the scope (the first in policy order that covers
 * both), and the identity that vouched for the signer must be one the scope allows: another identity of the owner
 * is `ERR_CODE_SIGNER_SCOPE`, a signer of no identity the verifier's `ERR_CODE_SIGNER_UNTRUSTED`. A failure in an
 * `audit` scope is reported and allowed; in `enforce` (or where no scope covers the code) it is refused.
 */
import { createCodeVerifier, type CodeVerifier } from '../code/code-verifier.js';
import { parseCodeSignature } from '../code/code-signature.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CustodyError } from '../errors.js';
import type { ParsedCRL } from '../validation/crl.js';
import type { CodeLevel } from './code-policy.js';
import type { EnrolledCodePolicy, EnrolledIdentity, EnrolledScope } from './code-validation-claim.js';
import { matchPathPattern } from './path-pattern.js';

/** Codes the policy adds to the code verifier's. Codes are API: never rename one. */
export type CodePolicyCode = 'ERR_CODE_SCOPE' | 'ERR_CODE_SIGNER_SCOPE';

/** One piece of code to check: where it sits, its bytes and its detached signature, at `now`. */
export interface CodeToCheck {
  /** Where the code sits on the device: what scope path patterns match. */
  readonly path: string;
  readonly file: Uint8Array;
  /** The code signature (DER CMS, `custody code sign`). */
  readonly signature: Uint8Array;
  /** CRLs of the owner's code-signing CAs (only those verifying under an enrolled CA count). */
  readonly crls?: ReadonlyArray<Uint8Array | ParsedCRL>;
  readonly now: Date;
}

/** The decision: accepted, or why not and whether the scope only audits. */
export interface CodeDecision {
  /** True when the code is within the policy. An `audit` failure is still `ok: false`, and allowed. */
  readonly ok: boolean;
  /** True when the device may run it: `ok`, or a failure in an `audit` scope. */
  readonly allowed: boolean;
  /** The level of the scope that decided (`enforce` when no scope covers the code). */
  readonly level: CodeLevel;
  readonly scope?: string;
  /** The type the signature states, once the signature parsed. */
  readonly type?: string;
  /** The identity of the policy the signer was accepted (or recognised) as. */
  readonly identity?: string;
  /** The signer, once the signature parsed: its subject and certificate SHA-256. */
  readonly signer?: { readonly subject: string; readonly certSha256: string };
  /** The file's SHA-256 and name as signed, when the signature was accepted. */
  readonly subject?: { readonly name: string; readonly sha256: string };
  /** A `CodePolicyCode`, or the code verifier's own. */
  readonly code?: string;
  readonly reason: string;
}

/** Checks code against one enrolled policy. Build it once per enrollment: it keeps a code verifier per scope. */
export class CodeChecker {
  readonly #byScope = new Map<string, CodeVerifier>();
  readonly #all: CodeVerifier;

  constructor(
    readonly policy: EnrolledCodePolicy,
    provider: CryptoProvider,
  ) {
    const verifierOf = (ids: readonly EnrolledIdentity[]) =>
      createCodeVerifier({
        provider,
        trust: {
          cas: ids.filter((i) => i.kind === 'ca').map((i) => i.certificate.der),
          signers: ids.filter((i) => i.kind === 'pinned').map((i) => i.certificate.der),
        },
      });
    for (const s of policy.scopes) this.#byScope.set(s.name, verifierOf(policy.identities.filter((i) => s.signers.includes(i.name))));
    this.#all = verifierOf(policy.identities);
  }

  /** The scope that covers a type at a path: the first in policy order, or undefined. */
  scopeOf(type: string, path: string): EnrolledScope | undefined {
    return this.policy.scopes.find((s) => (s.types as readonly string[]).includes(type) && s.patterns.some((p) => matchPathPattern(p, path)));
  }

  /**
   * Decides on one piece of code.
   * @throws never for bad code or signatures (each is a decision with a code); TypeError for an invalid `now`
   */
  async check(c: CodeToCheck): Promise<CodeDecision> {
    const input = { file: c.file, signature: c.signature, now: c.now, ...(c.crls ? { crls: c.crls } : {}) };
    // One verification with every identity of the policy trusted: the statement it returns is then trusted, and
    // its type picks the scope. The signature is parsed once on this path (a device checks many files).
    let verified;
    try {
      verified = await this.#all.verify(input);
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      return this.#failed(c, e);
    }
    const type = verified.statement.predicate.type;
    const scope = this.scopeOf(type, c.path);
    if (!scope) return this.#noScope(type, c.path);
    const signer = { subject: verified.signer.subject, certSha256: verified.signer.certSha256 };
    const subject = { name: verified.statement.subject[0].name, sha256: verified.statement.subject[0].digest.sha256 };
    let identity = this.#identityOf(
      verified.signer.trustedBy,
      verified.signer.trustedBy === 'pinned' ? verified.signer.certSha256 : verified.signer.issuerSha256,
    );
    if (!identity || !scope.signers.includes(identity.name)) {
      // Another identity of the policy vouched for the signer; one of the scope's may still (a pinned signer
      // issued by a CA the scope trusts): its own verifier decides.
      try {
        const v = await this.#byScope.get(scope.name)!.verify(input);
        identity = this.#identityOf(v.signer.trustedBy, v.signer.trustedBy === 'pinned' ? v.signer.certSha256 : v.signer.issuerSha256);
      } catch (e) {
        if (!(e instanceof CustodyError)) throw e;
        return this.#decide(scope, type, false, {
          ...(identity ? { identity: identity.name } : {}),
          signer,
          code: 'ERR_CODE_SIGNER_SCOPE',
          reason: `${signer.subject} signs as identity ${identity?.name ?? 'of this policy'}, which scope ${scope.name} does not allow (allowed: ${scope.signers.join(', ')})`,
        });
      }
    }
    return this.#decide(scope, type, true, {
      ...(identity ? { identity: identity.name } : {}),
      signer,
      subject,
      reason: `signed by ${signer.subject}${identity ? ` (identity ${identity.name})` : ''}, within scope ${scope.name}`,
    });
  }

  #decide(scope: EnrolledScope, type: string, ok: boolean, more: Omit<CodeDecision, 'ok' | 'allowed' | 'level' | 'scope' | 'type'>): CodeDecision {
    return { ok, allowed: ok || scope.level === 'audit', level: scope.level, scope: scope.name, type, ...more };
  }

  #noScope(type: string, path: string): CodeDecision {
    return {
      ok: false,
      allowed: false,
      level: 'enforce',
      type,
      code: 'ERR_CODE_SCOPE',
      reason: `no scope of code policy ${this.policy.policy} covers ${type} code at ${path}`,
    };
  }

  /** A refused verification: its scope from the signature's stated type (read again: a failure path), no scope first. */
  #failed(c: CodeToCheck, e: CustodyError): CodeDecision {
    let type: string;
    try {
      type = parseCodeSignature(c.signature).statement.predicate.type;
    } catch (p) {
      if (!(p instanceof CustodyError)) throw p;
      return this.#unreadable(c.path, p);
    }
    const scope = this.scopeOf(type, c.path);
    if (!scope) return this.#noScope(type, c.path);
    const reason =
      e.code === 'ERR_CODE_SIGNER_UNTRUSTED'
        ? `${e.message} (none of the enrolled identities of policy ${this.policy.policy}: a previous owner's signer, or nobody the owner trusts)`
        : e.message;
    // The type is the unverified signature's word: it may name the scope, not make the check lenient. Audit
    // allows the failure only where every scope covering the path audits (as for an unreadable signature).
    if (scope.level === 'audit' && !this.#auditsOnly(c.path))
      return { ok: false, allowed: false, level: 'enforce', scope: scope.name, type, code: e.code, reason };
    return this.#decide(scope, type, false, { code: e.code, reason });
  }

  /** True when some scope's paths cover `path` and every such scope audits. */
  #auditsOnly(path: string): boolean {
    const covering = this.policy.scopes.filter((s) => s.patterns.some((p) => matchPathPattern(p, path)));
    return covering.length > 0 && covering.every((s) => s.level === 'audit');
  }

  /** A signature that does not parse: refused, allowed only when every scope whose paths cover the code audits. */
  #unreadable(path: string, e: CustodyError): CodeDecision {
    const covering = this.policy.scopes.filter((s) => s.patterns.some((p) => matchPathPattern(p, path)));
    const audit = this.#auditsOnly(path);
    return {
      ok: false,
      allowed: audit,
      level: audit ? 'audit' : 'enforce',
      ...(covering[0] ? { scope: covering[0].name } : {}),
      code: e.code,
      reason: e.message,
    };
  }

  /** The identity a signer was accepted as: the pinned certificate's, or its issuing CA's. */
  #identityOf(kind: 'ca' | 'pinned', sha256: string | undefined): EnrolledIdentity | undefined {
    return this.policy.identities.find((i) => i.kind === kind && i.sha256 === sha256);
  }
}
