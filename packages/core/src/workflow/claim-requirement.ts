/**
 * A claim requirement, shared by workflow stages (`requiredClaims`) and policies (`require`): a claim path that
 * must be attested, optionally with the value it must have (`equals`) or the values it may have (`oneOf`).
 */
import { quoteBounded } from '../util/strict-json.js';
import type { Claims } from '../attestation/claims.js';
import { claimFieldType, parseClaimPath, resolveClaimPath, type ClaimPath } from './claim-path.js';
import type { FieldPath, FieldReader, Scalar } from './yaml-reader.js';

/** What a claim must be. Without `equals` and `oneOf`, it must merely be attested. */
export interface ClaimRequirement {
  readonly path: ClaimPath;
  readonly equals?: Scalar;
  readonly oneOf?: readonly Scalar[];
}

/** The outcome of one requirement against one claims object. */
export type ClaimOutcome = { ok: true; reason: string } | { ok: false; problem: 'missing' | 'value'; reason: string };

const KEYS = ['claim', 'equals', 'oneOf'] as const;

/**
 * Reads one requirement: either a bare path string, or `{claim, equals?}` / `{claim, oneOf?}`. Paths are checked
 * against the vocabulary, and expected values against the field's type.
 * @throws the reader's code (file:line: field: problem)
 */
export function readClaimRequirement(r: FieldReader, value: unknown, path: FieldPath): ClaimRequirement {
  if (typeof value === 'string') return { path: readPath(r, value, path) };
  const obj = r.object(value, path, KEYS, ['claim']);
  const claimPath = readPath(r, r.string(obj['claim'], [...path, 'claim']), [...path, 'claim']);
  const equals = r.optional(obj, 'equals', path, (v, p) => r.scalar(v, p));
  const oneOf = r.optional(obj, 'oneOf', path, (v, p) => r.list(v, p, 1).map((x, i) => r.scalar(x, [...p, i])));
  if (equals !== undefined && oneOf !== undefined) r.fail(path, 'give either "equals" or "oneOf", not both');
  if ((equals !== undefined || oneOf !== undefined) && claimPath.field === undefined && !claimPath.vendor) {
    r.fail([...path, 'claim'], `${quoteBounded(claimPath.text)} names a whole claim; compare a field of it (e.g. ${claimPath.text}.enabled)`);
  }
  const type = claimFieldType(claimPath);
  if (equals !== undefined) checkType(r, equals, type, [...path, 'equals'], claimPath);
  oneOf?.forEach((v, i) => checkType(r, v, type, [...path, 'oneOf', i], claimPath));
  return equals !== undefined ? { path: claimPath, equals } : oneOf !== undefined ? { path: claimPath, oneOf } : { path: claimPath };
}

function readPath(r: FieldReader, text: string, path: FieldPath): ClaimPath {
  const parsed = parseClaimPath(text);
  return 'problem' in parsed ? r.fail(path, parsed.problem) : parsed;
}

function checkType(r: FieldReader, v: Scalar, type: ReturnType<typeof claimFieldType>, path: FieldPath, claim: ClaimPath): void {
  if (type === undefined) return;
  if (type === 'boolean' && typeof v !== 'boolean') r.fail(path, `${claim.text} is true or false, not ${show(v)}`);
  if ((type === 'string' || type === 'hex64') && typeof v !== 'string') r.fail(path, `${claim.text} is a string, not ${show(v)}`);
  if (type === 'hex64' && typeof v === 'string' && !/^[0-9a-f]{64}$/.test(v)) r.fail(path, `${claim.text} is 64 lower-case hex digits`);
  if (type === 'string[]') r.fail(path, `${claim.text} is a list; only its presence can be required`);
  if (type === 'json') r.fail(path, `${claim.text} is structured data; only its presence can be required`);
  if (Array.isArray(type) && (typeof v !== 'string' || !type.includes(v))) {
    r.fail(path, `${claim.text} is one of ${type.join(', ')}, not ${show(v)}`);
  }
}

/** Checks one requirement against a claims object. */
export function checkClaimRequirement(req: ClaimRequirement, claims: Claims): ClaimOutcome {
  const value = resolveClaimPath(claims, req.path);
  const name = req.path.text;
  if (value === undefined || value === null) return { ok: false, problem: 'missing', reason: `${name} is not attested` };
  if (req.equals !== undefined) {
    if (value !== req.equals) return { ok: false, problem: 'value', reason: `${name} is ${show(value)}, expected ${show(req.equals)}` };
    return { ok: true, reason: `${name} is ${show(value)}` };
  }
  if (req.oneOf !== undefined) {
    if (!req.oneOf.includes(value as Scalar)) {
      return { ok: false, problem: 'value', reason: `${name} is ${show(value)}, expected one of ${req.oneOf.map(show).join(', ')}` };
    }
    return { ok: true, reason: `${name} is ${show(value)}` };
  }
  return { ok: true, reason: `${name} is attested` };
}

/** A short readable form of a requirement: `debugPorts.state in ["locked","disabled"]`. */
export function describeClaimRequirement(req: ClaimRequirement): string {
  if (req.equals !== undefined) return `${req.path.text} = ${show(req.equals)}`;
  if (req.oneOf !== undefined) return `${req.path.text} in [${req.oneOf.map(show).join(', ')}]`;
  return req.path.text;
}

function show(v: unknown): string {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
