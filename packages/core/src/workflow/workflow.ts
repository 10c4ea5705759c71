/**
 * Supply-chain workflows: the ordered stages of a device's chain, who may sign each, which claims each must
 * make, and how often each may repeat. docs/workflows.md is the reader's version of the format.
 */
import { quoteBounded } from '../util/strict-json.js';
import { ATTESTATION_KINDS, type AttestationKind } from '../attestation/statement.js';
import { readClaimRequirement, type ClaimRequirement } from './claim-requirement.js';
import { readSignerRule, type SignerRule } from './signer-rule.js';
import { FieldReader, type FieldPath } from './yaml-reader.js';

/** The part a stage's signer plays in the supply chain. */
export const WORKFLOW_ROLES = ['manufacturer', 'integrator', 'reseller', 'distributor', 'customer', 'other'] as const;
export type WorkflowRole = (typeof WORKFLOW_ROLES)[number];

/** One stage: attestations of one kind, by one kind of party, repeated `repeat.min` to `repeat.max` times. */
export interface WorkflowStage {
  readonly name: string;
  readonly kind: AttestationKind;
  readonly role: WorkflowRole;
  readonly description?: string;
  readonly signers: readonly SignerRule[];
  /** Claims this stage's own attestation must make. */
  readonly requiredClaims: readonly ClaimRequirement[];
  readonly repeat: { readonly min: number; readonly max: number };
}

/** A parsed, validated workflow. */
export interface Workflow {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly stages: readonly WorkflowStage[];
  /** Most attestations a chain may hold, birth included; undefined = only the stages' own bounds. */
  readonly maxHops?: number;
  /** A chain may end before this stage (verification before activation): it and later stages may be missing. */
  readonly mayEndBefore?: string;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAME_HINT = 'a lower-case name of letters, digits, ".", "_" and "-"';
const TOP_KEYS = ['name', 'version', 'description', 'stages', 'maxHops', 'mayEndBefore'];
const STAGE_KEYS = ['name', 'kind', 'role', 'description', 'signers', 'requiredClaims', 'repeat'];
const MAX_REPEAT = 1000;

/**
 * Parses and validates a workflow file. `fileName` only names the file in messages.
 * @throws ERR_WORKFLOW_INVALID `<file>:<line>: <field>: <problem>` for a YAML syntax error, an unknown field, a
 *   wrong type, a duplicate stage name, an unknown stage reference, an unknown claim path, or stages whose kinds
 *   cannot form a chain (the first stage must be the one birth stage; an activation stage can only be the last)
 */
export function parseWorkflow(text: string, fileName: string): Workflow {
  const r = FieldReader.parse(text, fileName, 'ERR_WORKFLOW_INVALID');
  const top = r.object(r.root, [], TOP_KEYS, ['name', 'version', 'stages']);
  const name = r.string(top['name'], ['name'], { pattern: NAME, hint: NAME_HINT });
  const version = readVersion(r, top['version']);
  const description = r.optional(top, 'description', [], (v, p) => r.string(v, p));
  const maxHops = r.optional(top, 'maxHops', [], (v, p) => r.integer(v, p, 1, MAX_REPEAT));
  const stages = r.list(top['stages'], ['stages'], 1).map((v, i) => readStage(r, v, ['stages', i]));

  const seen = new Set<string>();
  stages.forEach((s, i) => {
    if (seen.has(s.name)) r.fail(['stages', i, 'name'], `duplicate stage name "${s.name}"`);
    seen.add(s.name);
    if (i === 0 ? s.kind !== 'birth' : s.kind === 'birth') {
      r.fail(['stages', i, 'kind'], i === 0 ? 'the first stage must be the birth stage' : 'only the first stage may be a birth stage');
    }
    if (i === 0 && (s.repeat.min !== 1 || s.repeat.max !== 1)) r.fail(['stages', i, 'repeat'], 'the birth stage happens exactly once');
    if (s.kind === 'activation' && i !== stages.length - 1) checkAfterActivation(r, stages, i);
    if (s.kind === 'activation' && s.repeat.max !== 1) r.fail(['stages', i, 'repeat'], 'activation happens at most once');
  });
  const mayEndBefore = r.optional(top, 'mayEndBefore', [], (v, p) => {
    const ref = r.string(v, p);
    if (!seen.has(ref)) r.fail(p, `unknown stage ${quoteBounded(ref)} (stages: ${[...seen].join(', ')})`);
    if (ref === stages[0]!.name) r.fail(p, 'a chain cannot end before its birth stage');
    return ref;
  });
  const minHops = stages.reduce((n, s) => n + s.repeat.min, 0);
  if (maxHops !== undefined && maxHops < minHops) r.fail(['maxHops'], `is ${maxHops}, but the stages need at least ${minHops} attestations`);

  const out: Workflow = { name, version, stages };
  return Object.assign(
    out,
    description === undefined ? {} : { description },
    maxHops === undefined ? {} : { maxHops },
    mayEndBefore === undefined ? {} : { mayEndBefore },
  );
}

/**
 * After an activation stage only a resale may follow: an optional handoff stage (the owner passes the device on,
 * at most once) and then an optional activation stage (the next owner's), as often as the workflow lists them.
 */
function checkAfterActivation(r: FieldReader, stages: readonly WorkflowStage[], at: number): void {
  const resale = (j: number): boolean => {
    const s = stages[j]!;
    const want = (j - at) % 2 === 1 ? 'handoff' : 'activation';
    return s.kind === want && s.repeat.min === 0 && (want === 'activation' || s.repeat.max === 1);
  };
  let ok = (stages.length - 1 - at) % 2 === 0;
  for (let j = at + 1; ok && j < stages.length; j++) ok = resale(j);
  if (!ok)
    r.fail(
      ['stages', at, 'kind'],
      'an activation stage must be the last stage, or be followed only by resales: an optional handoff stage (repeat min 0, max 1), then an optional activation stage',
    );
}

function readVersion(r: FieldReader, v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return String(v);
  return r.string(v, ['version'], { pattern: /^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$/, hint: 'a version such as 1 or 1.2.0' });
}

function readStage(r: FieldReader, value: unknown, path: FieldPath): WorkflowStage {
  const obj = r.object(value, path, STAGE_KEYS, ['name', 'kind', 'role', 'signers']);
  const name = r.string(obj['name'], [...path, 'name'], { pattern: NAME, hint: NAME_HINT });
  const kind = r.string(obj['kind'], [...path, 'kind'], { choices: ATTESTATION_KINDS }) as AttestationKind;
  const role = r.string(obj['role'], [...path, 'role'], { choices: WORKFLOW_ROLES }) as WorkflowRole;
  const description = r.optional(obj, 'description', path, (v, p) => r.string(v, p));
  const signers = r.list(obj['signers'], [...path, 'signers'], 1).map((v, i) => readSignerRule(r, v, [...path, 'signers', i]));
  const requiredClaims = r.optional(obj, 'requiredClaims', path, (v, p) => r.list(v, p).map((x, i) => readClaimRequirement(r, x, [...p, i]))) ?? [];
  const repeat = r.optional(obj, 'repeat', path, (v, p) => {
    const rep = r.object(v, p, ['min', 'max']);
    const min = r.optional(rep, 'min', p, (x, q) => r.integer(x, q, 0, MAX_REPEAT)) ?? 1;
    const max = r.optional(rep, 'max', p, (x, q) => r.integer(x, q, 1, MAX_REPEAT)) ?? Math.max(min, 1);
    if (max < min) r.fail([...p, 'max'], `must be at least min (${min})`);
    return { min, max };
  }) ?? { min: 1, max: 1 };
  const stage: WorkflowStage = { name, kind, role, signers, requiredClaims, repeat };
  return description === undefined ? stage : { ...stage, description };
}
