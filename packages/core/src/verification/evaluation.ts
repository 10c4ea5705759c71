/**
 * Workflow and policy evaluation of a verified chain, through the workflow module: the verifier gathers the chain
 * steps and the evidence, the workflow module judges them.
 */
import type { Claims } from '../attestation/claims.js';
import { evaluatePolicy, type FirmwareEvidence } from '../workflow/evaluate-policy.js';
import { evaluateWorkflow, type ChainStep } from '../workflow/evaluate-workflow.js';
import type { Policy } from '../workflow/policy.js';
import type { EvaluationCheck } from '../workflow/report.js';
import type { PartyIdentity, WorkflowTrust } from '../workflow/signer-rule.js';
import type { Workflow } from '../workflow/workflow.js';
import type { VerificationCheck } from './report.js';
import { describeRevocationGap, type RevocationCoverage } from './revocation-coverage.js';

/** A workflow to hold the chain to, with the CAs its signer rules name. */
export interface WorkflowOption {
  readonly workflow: Workflow;
  readonly trust: WorkflowTrust;
}

/** What the verifier established beyond the bundle's signatures (challenge-response, log proofs), for the policy. */
export interface ExternalEvidence {
  /** The device proved it holds its IDevID key (undefined: no response was given). */
  readonly proofOfPossession?: boolean;
  /** Every attestation's log inclusion verified against a checkpoint signed by a trusted log key. */
  readonly logIncluded?: boolean;
  /** The firmware release check's outcome (undefined: no releases were supplied). */
  readonly firmware?: FirmwareEvidence;
}

function toChecks(prefix: string, checks: readonly EvaluationCheck[]): VerificationCheck[] {
  return checks.map((c) => {
    const out: { -readonly [K in keyof VerificationCheck]: VerificationCheck[K] } = { name: `${prefix}: ${c.name}`, ok: c.ok };
    if (c.reason !== undefined) out.reason = c.reason;
    if (c.code !== undefined) out.code = c.code;
    if (c.seq !== undefined) out.attestation = c.seq;
    return out;
  });
}

/** The workflow checks of a chain whose every signer was identified. */
export function workflowChecks(option: WorkflowOption, steps: readonly ChainStep[], nextCustodian: PartyIdentity | undefined): VerificationCheck[] {
  const report = evaluateWorkflow(option.workflow, steps, option.trust, nextCustodian ? { nextCustodian } : {});
  return toChecks('workflow', report.checks);
}

/** The policy checks of a chain; `revocation` is its coverage by verified CRLs (`revocationCoverage`). */
export function policyChecks(
  policy: Policy,
  claims: Claims,
  times: readonly Date[],
  revocation: RevocationCoverage,
  at: Date,
  evidence: ExternalEvidence,
): VerificationCheck[] {
  const report = evaluatePolicy(policy, {
    claims,
    crlsChecked: revocation.covered,
    ...(revocation.covered ? {} : { crlsMissing: revocation.missing.map(describeRevocationGap) }),
    chainTimes: times,
    at,
    ...(evidence.logIncluded !== undefined ? { logIncluded: evidence.logIncluded } : {}),
    ...(evidence.proofOfPossession !== undefined ? { proofOfPossession: evidence.proofOfPossession } : {}),
    ...(evidence.firmware !== undefined ? { firmware: evidence.firmware } : {}),
  });
  return toChecks('policy', report.checks);
}
