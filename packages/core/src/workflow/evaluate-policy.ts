/**
 * Policy evaluation: one check per requirement of the customer's policy, against the chain's effective claims
 * and the evidence verification gathered (log inclusion, proof of possession, CRLs, attestation times).
 */
import { isVendorClaimName, type Claims } from '../attestation/claims.js';
import { checkClaimRequirement, describeClaimRequirement } from './claim-requirement.js';
import { addDuration, formatDuration } from './duration.js';
import type { EvidenceRule, Policy } from './policy.js';
import { fail, pass, summarize, type EvaluationCheck, type EvaluationReport } from './report.js';

/** What verification established about a chain, as policy evaluation needs it. */
export interface PolicyEvidence {
  /** The chain's effective claims (`mergeClaims` over the attestations in order). */
  readonly claims: Claims;
  /** Every attestation is in the transparency log (proofs verified); undefined when not checked. */
  readonly logIncluded?: boolean | undefined;
  /** The device proved it holds its IDevID key; undefined when not checked. */
  readonly proofOfPossession?: boolean | undefined;
  /**
   * The status of every certificate of every path of the chain (device and signers) was established from a
   * verified CRL of its issuer, current at the evaluation time.
   */
  readonly crlsChecked: boolean;
  /** When not: what is missing, one text per certificate (`no verified current CRL from "<issuer>" (for "<subject>")`). */
  readonly crlsMissing?: readonly string[];
  /** The attestations' predicate times, in chain order; needed when the policy sets `maxChainAge`. */
  readonly chainTimes?: readonly Date[];
  /** The evaluation time. */
  readonly at: Date;
  /** What the firmware release check established; undefined when no releases were supplied. */
  readonly firmware?: FirmwareEvidence | undefined;
}

/** The outcome of checking the chain's installed firmware against signed releases (`checkFirmwareReleases`). */
export interface FirmwareEvidence {
  /** Every firmware the chain installs matched a signed, unwithdrawn release, counters never decreasing. */
  readonly ok: boolean;
  /** How many attestations install firmware. */
  readonly installs: number;
  /** Security counter of the last installed release, when it matched one. */
  readonly counter?: number;
}

/**
 * Evaluates a policy. Failures are checks with codes: ERR_POLICY_CLAIM_MISSING, ERR_POLICY_CLAIM_VALUE,
 * ERR_POLICY_VENDOR_CLAIM, ERR_POLICY_LOG_INCLUSION, ERR_POLICY_POSSESSION, ERR_POLICY_REVOCATION,
 * ERR_POLICY_CHAIN_AGE, ERR_POLICY_SIGNED_FIRMWARE, ERR_POLICY_FIRMWARE_COUNTER.
 * @throws TypeError when `evidence.at` is not a valid Date
 */
export function evaluatePolicy(policy: Policy, evidence: PolicyEvidence): EvaluationReport {
  if (!(evidence.at instanceof Date) || Number.isNaN(evidence.at.getTime())) throw new TypeError('evaluatePolicy: evidence.at must be a valid Date');
  const checks: EvaluationCheck[] = [];
  for (const req of policy.require) {
    const name = `claim ${describeClaimRequirement(req)}`;
    const outcome = checkClaimRequirement(req, evidence.claims);
    if (outcome.ok) checks.push(pass(name, outcome.reason));
    else checks.push(fail(name, outcome.problem === 'missing' ? 'ERR_POLICY_CLAIM_MISSING' : 'ERR_POLICY_CLAIM_VALUE', outcome.reason));
  }
  if (!policy.allowUnknownVendorClaims) checks.push(vendorCheck(policy, evidence.claims));
  checks.push(evidenceCheck('logInclusion', policy.logInclusion, evidence.logIncluded, 'ERR_POLICY_LOG_INCLUSION', 'every attestation is in the log'));
  checks.push(
    evidenceCheck(
      'proofOfPossession',
      policy.proofOfPossession,
      evidence.proofOfPossession,
      'ERR_POLICY_POSSESSION',
      'the device proved it holds its identity key',
    ),
  );
  checks.push(
    evidenceCheck(
      'revocationCheck',
      policy.revocationCheck,
      evidence.crlsChecked || undefined,
      'ERR_POLICY_REVOCATION',
      'certificates were checked against CRLs',
      revocationGaps(evidence.crlsMissing),
    ),
  );
  if (policy.maxChainAge !== undefined) checks.push(ageCheck(policy, evidence));
  checks.push(signedFirmwareCheck(policy.signedFirmware, evidence.firmware));
  if (policy.minFirmwareCounter !== undefined) checks.push(counterCheck(policy.minFirmwareCounter, evidence.firmware));
  return summarize(checks);
}

const MAX_GAPS_NAMED = 6;

/** The revocation gaps as one clause naming the issuers whose CRLs are missing, or undefined without any. */
function revocationGaps(gaps: readonly string[] | undefined): string | undefined {
  if (!gaps || gaps.length === 0) return undefined;
  const named = gaps.slice(0, MAX_GAPS_NAMED).join('; ');
  return `not established: ${named}${gaps.length > MAX_GAPS_NAMED ? `; and ${gaps.length - MAX_GAPS_NAMED} more` : ''}`;
}

function evidenceCheck(name: string, rule: EvidenceRule, value: boolean | undefined, code: string, what: string, why?: string): EvaluationCheck {
  if (value === true) return pass(name, what);
  const missing = why ?? (value === false ? `not established (${what}: no)` : 'not checked');
  if (rule === 'optional') return pass(name, `optional; ${missing}`);
  const advice: Record<string, string> = {
    logInclusion: 'supply log inclusion proofs',
    proofOfPossession: 'run a challenge against the device',
    revocationCheck: 'supply CRLs',
  };
  return fail(name, code, `the policy requires ${name}, ${missing}; ${advice[name] ?? ''}`.trim());
}

function vendorCheck(policy: Policy, claims: Claims): EvaluationCheck {
  const named = (claim: string): boolean =>
    policy.knownVendorClaims.includes(claim) || policy.require.some((r) => r.path.vendor && (r.path.text === claim || r.path.text.startsWith(`${claim}.`)));
  const unknown = Object.keys(claims).filter((k) => isVendorClaimName(k) && !named(k));
  if (unknown.length === 0) return pass('vendorClaims', 'no unknown vendor claims');
  return fail('vendorClaims', 'ERR_POLICY_VENDOR_CLAIM', `the policy does not accept unknown vendor claims: ${unknown.join(', ')}`);
}

function ageCheck(policy: Policy, evidence: PolicyEvidence): EvaluationCheck {
  const limit = formatDuration(policy.maxChainAge!);
  const times = (evidence.chainTimes ?? []).filter((t) => !Number.isNaN(t.getTime()));
  if (times.length === 0)
    return fail('maxChainAge', 'ERR_POLICY_CHAIN_AGE', `the policy limits the chain's age to ${limit}, but no attestation times were supplied`);
  const birth = new Date(Math.min(...times.map((t) => t.getTime())));
  const deadline = addDuration(birth, policy.maxChainAge!);
  if (evidence.at.getTime() > deadline.getTime()) {
    return fail('maxChainAge', 'ERR_POLICY_CHAIN_AGE', `the chain began ${birth.toISOString()}, more than ${limit} before ${evidence.at.toISOString()}`);
  }
  return pass('maxChainAge', `the chain began ${birth.toISOString()}, within ${limit}`);
}

function signedFirmwareCheck(rule: EvidenceRule, firmware: FirmwareEvidence | undefined): EvaluationCheck {
  const name = 'signedFirmware';
  if (firmware?.ok && firmware.installs > 0) return pass(name, `${firmware.installs} installed firmware(s) matched signed, unwithdrawn releases`);
  const missing = !firmware
    ? 'not checked; supply the firmware releases (--releases DIR)'
    : firmware.installs === 0
      ? 'no attestation installs firmware'
      : 'an installed firmware does not match a signed, unwithdrawn release (see the firmware checks)';
  if (rule === 'optional') return pass(name, `optional; ${missing}`);
  return fail(name, 'ERR_POLICY_SIGNED_FIRMWARE', `the policy requires signed firmware, ${missing}`);
}

function counterCheck(min: number, firmware: FirmwareEvidence | undefined): EvaluationCheck {
  const name = 'minFirmwareCounter';
  // The counter counts only when it comes from a release the check matched: a claim alone proves nothing.
  if (firmware?.ok && firmware.counter !== undefined) {
    if (firmware.counter >= min) return pass(name, `the installed release's security counter ${firmware.counter} is at least ${min}`);
    return fail(name, 'ERR_POLICY_FIRMWARE_COUNTER', `the installed release's security counter ${firmware.counter} is below the policy's minimum ${min}`);
  }
  const why = !firmware ? 'no firmware releases were supplied (--releases DIR)' : 'no installed firmware matched a signed release';
  return fail(name, 'ERR_POLICY_FIRMWARE_COUNTER', `the policy requires a security counter of at least ${min}, but ${why}`);
}
