/**
 * Customer acceptance policies: which controls the chain must attest, and which evidence (log inclusion, proof
 * of possession, revocation data, chain age) the customer insists on. docs/workflows.md documents the format;
 * the shipped policies live in `workflows/policies/<name>.yaml`.
 */
import { quoteBounded } from '../util/strict-json.js';
import { isVendorClaimName } from '../attestation/claims.js';
import { readClaimRequirement, type ClaimRequirement } from './claim-requirement.js';
import { daysDuration, parseISODuration, type Duration } from './duration.js';
import { FieldReader, type FieldPath } from './yaml-reader.js';

/** Whether a kind of evidence must be present. Absent from a file means `required`: policies fail closed. */
export type EvidenceRule = 'required' | 'optional';

/** A parsed, validated policy. */
export interface Policy {
  readonly name: string;
  readonly description?: string;
  /** Requirements on the chain's effective (merged) claims. */
  readonly require: readonly ClaimRequirement[];
  readonly logInclusion: EvidenceRule;
  readonly proofOfPossession: EvidenceRule;
  /** `required`: CRLs must be supplied and checked for every certificate in the chain. */
  readonly revocationCheck: EvidenceRule;
  /** Oldest the birth attestation may be at evaluation time; undefined = no limit. */
  readonly maxChainAge?: Duration;
  /** False: every vendor extension claim in the chain must be named by `require` or `knownVendorClaims`. */
  readonly allowUnknownVendorClaims: boolean;
  readonly knownVendorClaims: readonly string[];
  /**
   * `required`: every firmware the chain installs is a signed, unwithdrawn release for the device's model, checked
   * against the releases the verifier was given. Absent means `optional`: it needs evidence older policies never
   * asked for.
   */
  readonly signedFirmware: EvidenceRule;
  /** Lowest security counter the chain's last installed release may have; undefined = no floor. */
  readonly minFirmwareCounter?: number;
}

const BUILTIN_POLICIES = ['baseline', 'retail', 'healthcare'] as const;

/** Names of the policies shipped in `workflows/policies/` (the CLI resolves `--policy NAME` to `NAME.yaml`). */
export function builtinPolicyNames(): readonly string[] {
  return BUILTIN_POLICIES;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const KEYS = [
  'name',
  'description',
  'require',
  'logInclusion',
  'proofOfPossession',
  'revocationCheck',
  'maxChainAge',
  'allowUnknownVendorClaims',
  'knownVendorClaims',
  'signedFirmware',
  'minFirmwareCounter',
];
const RULES = ['required', 'optional'] as const;

/**
 * Parses and validates a policy file. `fileName` only names the file in messages.
 * @throws ERR_POLICY_INVALID `<file>:<line>: <field>: <problem>` for a YAML syntax error, an unknown field, a wrong
 *   type, an unknown claim path, an expected value of the wrong type, or a malformed duration
 */
export function parsePolicy(text: string, fileName: string): Policy {
  const r = FieldReader.parse(text, fileName, 'ERR_POLICY_INVALID');
  const top = r.object(r.root, [], KEYS, ['name']);
  const name = r.string(top['name'], ['name'], { pattern: NAME, hint: 'a lower-case name of letters, digits, ".", "_" and "-"' });
  const description = r.optional(top, 'description', [], (v, p) => r.string(v, p));
  const require = r.optional(top, 'require', [], (v, p) => r.list(v, p).map((x, i) => readClaimRequirement(r, x, [...p, i]))) ?? [];
  const rule = (key: string): EvidenceRule => r.optional(top, key, [], (v, p) => r.string(v, p, { choices: RULES }) as EvidenceRule) ?? 'required';
  const maxChainAge = r.optional(top, 'maxChainAge', [], (v, p) => readAge(r, v, p));
  const allowUnknownVendorClaims = r.optional(top, 'allowUnknownVendorClaims', [], (v, p) => r.boolean(v, p)) ?? true;
  const knownVendorClaims =
    r.optional(top, 'knownVendorClaims', [], (v, p) =>
      r.list(v, p).map((x, i) => {
        const claim = r.string(x, [...p, i]);
        return isVendorClaimName(claim) ? claim : r.fail([...p, i], `${quoteBounded(claim)} is not a vendor claim name <dns-domain>/<name>`);
      }),
    ) ?? [];
  const signedFirmware = r.optional(top, 'signedFirmware', [], (v, p) => r.string(v, p, { choices: RULES }) as EvidenceRule) ?? 'optional';
  const minFirmwareCounter = r.optional(top, 'minFirmwareCounter', [], (v, p) => r.integer(v, p, 0, Number.MAX_SAFE_INTEGER));
  const seen = new Set<string>();
  require.forEach((req, i) => {
    if (seen.has(req.path.text)) r.fail(['require', i], `${req.path.text} is already required above`);
    seen.add(req.path.text);
  });
  const policy: Policy = {
    name,
    require,
    logInclusion: rule('logInclusion'),
    proofOfPossession: rule('proofOfPossession'),
    revocationCheck: rule('revocationCheck'),
    allowUnknownVendorClaims,
    knownVendorClaims,
    signedFirmware,
  };
  return Object.assign(
    policy,
    description === undefined ? {} : { description },
    maxChainAge === undefined ? {} : { maxChainAge },
    minFirmwareCounter === undefined ? {} : { minFirmwareCounter },
  );
}

function readAge(r: FieldReader, v: unknown, p: FieldPath): Duration {
  if (typeof v === 'number') return daysDuration(r.integer(v, p, 1, 36500));
  const text = r.string(v, p);
  return parseISODuration(text) ?? r.fail(p, `${quoteBounded(text)} is not a number of days or a non-zero ISO 8601 duration such as P90D or P1Y`);
}
