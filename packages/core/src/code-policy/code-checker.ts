/**
 * The device's decision on one piece of code, after its signature was checked: which scope of the enrolled
 * policy covers it (by the signed type and the path it sits at on the device), whether its signer is an
 * identity that scope allows, valid now and not revoked, and what a failure does (`enforce` refuses, `audit`
 * reports and allows). Scopes are tried in policy order; the first that covers the code decides.
 */
import { OID } from '../asn1/oids.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { toHex } from '../util/bytes.js';
import { sha256 } from '../util/sha256.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import type { ParsedCRL } from '../validation/crl.js';
import { PathValidator } from '../validation/path-validator.js';
import type { CodeLevel } from './code-policy.js';
import type { EnrolledCodePolicy, EnrolledIdentity, EnrolledScope } from './code-validation-claim.js';
import { matchPathPattern } from './path-pattern.js';

/** Stable codes of a refused (or, in audit, reported) piece of code. Codes are API: never rename one. */
export type CodeCheckCode = 'ERR_CODE_SCOPE' | 'ERR_CODE_SIGNER_SCOPE' | 'ERR_CODE_SIGNER_UNTRUSTED' | 'ERR_CODE_SIGNER_EXPIRED' | 'ERR_CODE_SIGNER_REVOKED';

/** What the device knows about the code once its signature verified. */
export interface SignedCode {
  /** Where the code sits on the device: what scope path patterns match. */
  readonly path: string;
  /** The artifact type the signature covers. */
  readonly type: string;
  /** The signer's certificate (DER), from the signature. */
  readonly signer: Uint8Array;
  /** Other certificates the signature carries (intermediate CAs). */
  readonly intermediates?: readonly Uint8Array[];
}

/** The decision: accepted, or why not and whether the scope only audits. */
export interface CodeDecision {
  /** True when the code is within the policy; an `audit` failure is still `ok: false` (and allowed). */
  readonly ok: boolean;
  /** True when the device may run it: `ok`, or a failure in an `audit` scope. */
  readonly allowed: boolean;
  /** The level of the scope that decided (`enforce` when no scope covers the code). */
  readonly level: CodeLevel;
  readonly scope?: string;
  /** The identity of the policy the signer was accepted (or recognised) as. */
  readonly identity?: string;
  /** A `CodeCheckCode`, or the signature check's own code (`refuse`). */
  readonly code?: string;
  readonly reason: string;
}

/** Checks code against one enrolled policy; build it once per enrollment (it keeps a path validator per CA). */
export class CodeChecker {
  readonly #validators = new Map<string, PathValidator>();

  constructor(
    readonly policy: EnrolledCodePolicy,
    provider: CryptoProvider,
  ) {
    for (const id of policy.identities) if (id.kind === 'ca') this.#validators.set(id.name, new PathValidator({ trustAnchors: [id.certificate], provider }));
  }

  /** The scope that covers a type at a path: the first in policy order, or undefined. */
  scopeOf(type: string, path: string): EnrolledScope | undefined {
    return this.policy.scopes.find((s) => (s.types as readonly string[]).includes(type) && s.patterns.some((p) => matchPathPattern(p, path)));
  }

  /**
   * The decision for code whose signature could not be trusted (`code`, `reason` from the signature check): a
   * refusal, allowed only when every scope whose paths cover `path` (and, when known, its type) only audits.
   */
  refuse(path: string, type: string | undefined, code: string, reason: string): CodeDecision {
    const covering = this.policy.scopes.filter(
      (s) => (type === undefined || (s.types as readonly string[]).includes(type)) && s.patterns.some((p) => matchPathPattern(p, path)),
    );
    const audit = covering.length > 0 && covering.every((s) => s.level === 'audit');
    const scope = covering[0]?.name;
    return { ok: false, allowed: audit, level: audit ? 'audit' : 'enforce', ...(scope ? { scope } : {}), code, reason };
  }

  /**
   * Decides on code whose signature verified.
   * @throws never for bad input: every problem is a decision with a code
   */
  async check(code: SignedCode, at: Date, crls: readonly ParsedCRL[] = []): Promise<CodeDecision> {
    const scope = this.scopeOf(code.type, code.path);
    if (!scope) {
      return {
        ok: false,
        allowed: false,
        level: 'enforce',
        code: 'ERR_CODE_SCOPE',
        reason: `no scope of policy ${this.policy.policy} covers ${code.type} code at ${code.path}`,
      };
    }
    const verdict = (ok: boolean, more: { identity?: string; code?: string; reason: string }): CodeDecision => ({
      ok,
      allowed: ok || scope.level === 'audit',
      level: scope.level,
      scope: scope.name,
      ...more,
    });
    let signer: ParsedCertificate;
    try {
      signer = parseCertificate(code.signer);
    } catch (e) {
      return verdict(false, { code: 'ERR_CODE_SIGNER_UNTRUSTED', reason: `the signer's certificate does not parse: ${(e as Error).message}` });
    }
    let first: { identity: string; code: string; reason: string } | undefined;
    for (const name of scope.signers) {
      const id = this.policy.identities.find((i) => i.name === name)!;
      const r = await this.#asIdentity(id, signer, code.intermediates ?? [], at, crls);
      if (r === 'accepted')
        return verdict(true, { identity: id.name, reason: `signed by ${signer.subject.text} (identity ${id.name}) within scope ${scope.name}` });
      if (r) first ??= { identity: id.name, ...r };
    }
    if (first) return verdict(false, first);
    // Not a signer of this scope: is it one of the policy's other identities (outside its scope), or nobody's?
    for (const id of this.policy.identities) {
      if (scope.signers.includes(id.name)) continue;
      if ((await this.#asIdentity(id, signer, code.intermediates ?? [], at, crls)) === 'accepted') {
        return verdict(false, {
          identity: id.name,
          code: 'ERR_CODE_SIGNER_SCOPE',
          reason: `${signer.subject.text} signs as identity ${id.name}, which scope ${scope.name} does not allow (allowed: ${scope.signers.join(', ')})`,
        });
      }
    }
    return verdict(false, {
      code: 'ERR_CODE_SIGNER_UNTRUSTED',
      reason: `${signer.subject.text} is none of the enrolled identities of policy ${this.policy.policy} (a signer of a previous owner, or of nobody the owner trusts)`,
    });
  }

  /** `accepted`; a failure when the signer is this identity's but not valid now; undefined when it is not this identity's. */
  async #asIdentity(
    id: EnrolledIdentity,
    signer: ParsedCertificate,
    intermediates: readonly Uint8Array[],
    at: Date,
    crls: readonly ParsedCRL[],
  ): Promise<'accepted' | { code: string; reason: string } | undefined> {
    if (id.kind === 'pinned') {
      if (toHex(sha256(signer.der)) !== id.sha256) return undefined;
      if (at < signer.notBefore || at > signer.notAfter)
        return {
          code: 'ERR_CODE_SIGNER_EXPIRED',
          reason: `the pinned signer ${signer.subject.text} is valid ${signer.notBefore.toISOString()} to ${signer.notAfter.toISOString()}, not at ${at.toISOString()}`,
        };
      if (!signer.extKeyUsage?.includes(OID.codeSigning))
        return { code: 'ERR_CODE_SIGNER_UNTRUSTED', reason: `the pinned signer ${signer.subject.text} lacks the codeSigning extended key usage` };
      return 'accepted';
    }
    const report = await this.#validators.get(id.name)!.validate({
      leaf: signer,
      intermediates,
      at,
      crls,
      requiredKeyUsage: ['digitalSignature'],
      requiredEKU: [OID.codeSigning],
    });
    if (report.ok) return 'accepted';
    const why = report.checks.find((c) => !c.ok)?.reason ?? report.code ?? 'rejected';
    if (report.code === 'ERR_CHAIN_NO_PATH' || report.code === 'ERR_CHAIN_SIGNATURE' || report.code === 'ERR_CHAIN_LEAF_IS_ANCHOR') return undefined;
    if (report.code === 'ERR_CHAIN_EXPIRED' || report.code === 'ERR_CHAIN_NOT_YET_VALID')
      return { code: 'ERR_CODE_SIGNER_EXPIRED', reason: `${signer.subject.text}: ${why}` };
    if (report.code === 'ERR_CHAIN_REVOKED') return { code: 'ERR_CODE_SIGNER_REVOKED', reason: `${signer.subject.text}: ${why}` };
    return { code: 'ERR_CODE_SIGNER_UNTRUSTED', reason: `${signer.subject.text} under identity ${id.name}: ${why}` };
  }
}
