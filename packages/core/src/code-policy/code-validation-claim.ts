/**
 * The `codeValidation` claim of an activation attestation: a code policy with the certificates its identities
 * name, so that a device can check code offline with nothing but what the activating owner signed.
 *
 * ```json
 * { "enabled": true, "policy": "edge-scripts",
 *   "identities": [{ "name": "owner-code", "kind": "ca", "sha256": "<hex>", "certificate": "<base64 DER>" }],
 *   "scopes": [{ "name": "scripts", "types": ["script"], "paths": ["/opt/edge/**"], "level": "enforce", "signers": ["owner-code"] }] }
 * ```
 */
import type { CodeValidationClaim } from '../attestation/claims.js';
import { CustodyError } from '../errors.js';
import { fromBase64, toBase64, toHex } from '../util/bytes.js';
import { sha256 } from '../util/sha256.js';
import { quoteBounded } from '../util/strict-json.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import { CODE_ARTIFACT_TYPES, CODE_LEVELS, CODE_POLICY_LIMITS, type CodeArtifactType, type CodeLevel, type CodePolicy, type CodeScope } from './code-policy.js';
import { compilePathPattern, pathPatternProblem, type PathPattern } from './path-pattern.js';

/** An identity as enrolled: its certificate, parsed. */
export interface EnrolledIdentity {
  readonly name: string;
  readonly kind: 'ca' | 'pinned';
  /** Hex SHA-256 of the certificate's DER. */
  readonly sha256: string;
  readonly certificate: ParsedCertificate;
}

/** A scope as enrolled: its path patterns compiled. */
export interface EnrolledScope extends CodeScope {
  readonly patterns: readonly PathPattern[];
}

/** The code policy a device enforces, read from a verified activation's claim. */
export interface EnrolledCodePolicy {
  readonly policy: string;
  readonly identities: readonly EnrolledIdentity[];
  readonly scopes: readonly EnrolledScope[];
}

/** Largest certificate an identity may carry, in bytes of DER. */
const MAX_CERTIFICATE_BYTES = 16 * 1024;

/**
 * The claim an activation carries for `policy`, each identity with its certificate (DER, resolved by the caller).
 * @throws ERR_CODE_POLICY_CERT when an identity has no certificate, or one whose hash or kind is not what the policy says
 */
export function createCodeValidationClaim(policy: CodePolicy, certificates: ReadonlyMap<string, Uint8Array>): CodeValidationClaim {
  const identities = policy.identities.map((id) => {
    const der = certificates.get(id.name);
    if (!der) throw new CustodyError('ERR_CODE_POLICY_CERT', `code policy ${policy.name}: no certificate for identity ${id.name}`);
    const hex = toHex(sha256(der));
    if (id.sha256 !== undefined && id.sha256 !== hex)
      throw new CustodyError(
        'ERR_CODE_POLICY_CERT',
        `code policy ${policy.name}: identity ${id.name}: the certificate given has SHA-256 ${hex}, not ${id.sha256}`,
      );
    checkKind(id.name, id.kind, parseCertificate(der), 'ERR_CODE_POLICY_CERT');
    return { name: id.name, kind: id.kind, sha256: hex, certificate: toBase64(der) };
  });
  const scopes = policy.scopes.map((s) => ({ name: s.name, types: [...s.types], paths: [...s.paths], level: s.level, signers: [...s.signers] }));
  return { enabled: true, policy: policy.name, identities, scopes };
}

function checkKind(name: string, kind: 'ca' | 'pinned', cert: ParsedCertificate, code: string): void {
  const isCA = cert.basicConstraints?.cA === true;
  if (kind === 'ca' && !isCA) throw new CustodyError(code, `identity ${name}: its certificate (${cert.subject.text}) is not a CA`);
  if (kind === 'pinned' && isCA) throw new CustodyError(code, `identity ${name}: a pinned signer certificate (${cert.subject.text}) must not be a CA`);
}

/**
 * Reads a `codeValidation` claim strictly, as a device enrolls it: every field present and typed, every
 * certificate parsed and of its kind, every scope signer an identity, within `CODE_POLICY_LIMITS`.
 * @throws ERR_ENROLL_CLAIM naming the field, for anything else (the claim is signed, but by a tool that is not custody)
 */
export function parseCodeValidationClaim(value: unknown): EnrolledCodePolicy {
  const o = record(value, 'codeValidation');
  only(o, 'codeValidation', ['enabled', 'policy', 'identities', 'scopes']);
  if (o['enabled'] !== true) throw bad('codeValidation.enabled', 'is not true: the owner did not enable code validation');
  const policy = str(o['policy'], 'codeValidation.policy');
  const ids = list(o['identities'], 'codeValidation.identities', CODE_POLICY_LIMITS.maxIdentities);
  const identities = ids.map((x, i) => readIdentity(x, `codeValidation.identities[${i}]`));
  const names = new Set(identities.map((i) => i.name));
  if (names.size !== identities.length) throw bad('codeValidation.identities', 'names an identity twice');
  const scopes = list(o['scopes'], 'codeValidation.scopes', CODE_POLICY_LIMITS.maxScopes).map((x, i) => readScope(x, `codeValidation.scopes[${i}]`, names));
  return { policy, identities, scopes };
}

function readIdentity(x: unknown, field: string): EnrolledIdentity {
  const o = record(x, field);
  only(o, field, ['name', 'kind', 'sha256', 'certificate']);
  const name = str(o['name'], `${field}.name`);
  const kind = oneOf(o['kind'], `${field}.kind`, ['ca', 'pinned'] as const);
  const b64 = str(o['certificate'], `${field}.certificate`);
  if (b64.length > (MAX_CERTIFICATE_BYTES * 4) / 3 + 4) throw bad(`${field}.certificate`, `is larger than ${MAX_CERTIFICATE_BYTES} bytes`);
  const der = fromBase64(b64);
  if (!der) throw bad(`${field}.certificate`, 'is not base64');
  const hex = toHex(sha256(der));
  if (o['sha256'] !== hex) throw bad(`${field}.sha256`, 'is not the SHA-256 of the certificate');
  let certificate: ParsedCertificate;
  try {
    certificate = parseCertificate(der);
    checkKind(name, kind, certificate, 'ERR_ENROLL_CLAIM');
  } catch (e) {
    throw e instanceof CustodyError && e.code === 'ERR_ENROLL_CLAIM' ? e : bad(`${field}.certificate`, `does not parse: ${(e as Error).message}`);
  }
  return { name, kind, sha256: hex, certificate };
}

function readScope(x: unknown, field: string, identities: ReadonlySet<string>): EnrolledScope {
  const o = record(x, field);
  only(o, field, ['name', 'types', 'paths', 'level', 'signers']);
  const name = str(o['name'], `${field}.name`);
  const types = list(o['types'], `${field}.types`, CODE_ARTIFACT_TYPES.length).map((t, i) =>
    oneOf(t, `${field}.types[${i}]`, CODE_ARTIFACT_TYPES),
  ) as CodeArtifactType[];
  const paths = list(o['paths'], `${field}.paths`, CODE_POLICY_LIMITS.maxPathsPerScope).map((p, i) => {
    const text = str(p, `${field}.paths[${i}]`);
    const problem = pathPatternProblem(text);
    if (problem) throw bad(`${field}.paths[${i}]`, problem);
    return text;
  });
  const level = oneOf(o['level'], `${field}.level`, CODE_LEVELS) as CodeLevel;
  const signers = list(o['signers'], `${field}.signers`, CODE_POLICY_LIMITS.maxIdentities).map((s, i) => {
    const id = str(s, `${field}.signers[${i}]`);
    if (!identities.has(id)) throw bad(`${field}.signers[${i}]`, `${quoteBounded(id)} is not an identity of the claim`);
    return id;
  });
  return { name, types, paths, level, signers, patterns: paths.map(compilePathPattern) };
}

function bad(field: string, what: string): CustodyError {
  return new CustodyError('ERR_ENROLL_CLAIM', `the activation's ${field} ${what}`);
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(field, 'is not an object');
  return v as Record<string, unknown>;
}

function only(o: Record<string, unknown>, field: string, known: readonly string[]): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw bad(`${field}.${quoteBounded(k)}`, 'is not a field of the claim');
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(field, 'is not a non-empty string');
  return v;
}

function list(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length === 0) throw bad(field, 'is not a non-empty list');
  if (v.length > max) throw bad(field, `has more than ${max} items`);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw bad(field, `is not one of ${choices.join(', ')}`);
  return v as T;
}
