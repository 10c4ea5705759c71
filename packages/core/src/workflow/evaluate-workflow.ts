/**
 * Workflow evaluation: does a verified chain follow the workflow? Stage assignment is `matchStages`; this file
 * turns the assignment into checks: placement, stage name, signer and claims per attestation, then repeats,
 * hops and completeness for the chain.
 */
import type { Claims } from '../attestation/claims.js';
import type { AttestationKind } from '../attestation/statement.js';
import { checkClaimRequirement } from './claim-requirement.js';
import { fail, pass, summarize, type EvaluationCheck, type EvaluationReport } from './report.js';
import { matchSigners, partyName, type PartyIdentity, type WorkflowTrust } from './signer-rule.js';
import { matchStages } from './stage-matcher.js';
import type { Workflow, WorkflowStage } from './workflow.js';

/** One verified attestation of a chain, as workflow evaluation needs it. */
export interface ChainStep {
  readonly seq: number;
  readonly kind: AttestationKind;
  /** The stage name the predicate carries, when it carries one. */
  readonly stage?: string;
  readonly signer: PartyIdentity;
  /** The attestation's own claims (not the merged ones). */
  readonly claims: Claims;
  /** The predicate's `to`: hex SHA-256 of the next custodian's SPKI. */
  readonly to?: string;
}

/** Options of `evaluateWorkflow`. */
export interface WorkflowEvaluationOptions {
  /**
   * The party expected to sign the pending stage (the verifying customer, before activation). When the chain
   * ends before `workflow.mayEndBefore`, the last attestation's `to` must be this party's key and the party
   * must be allowed to sign that stage.
   */
  readonly nextCustodian?: PartyIdentity;
}

/** The workflow report: the checks, and the stage each attestation was assigned to (by position). */
export interface WorkflowReport extends EvaluationReport {
  readonly stages: ReadonlyArray<string | undefined>;
  /** The stage the chain is waiting for, when it ends before `mayEndBefore`. */
  readonly pending?: string;
}

/**
 * Evaluates a chain against a workflow. Never throws for a chain that does not follow it: every failure is a
 * check with a code: ERR_WORKFLOW_REJECT_ORDER (out of order, skipped or missing stage, empty chain),
 * ERR_WORKFLOW_REJECT_HOPS (too many repeats or attestations), ERR_WORKFLOW_REJECT_KIND, ERR_WORKFLOW_REJECT_STAGE
 * (predicate names another stage), ERR_WORKFLOW_REJECT_SIGNER, ERR_WORKFLOW_REJECT_CLAIMS,
 * ERR_WORKFLOW_REJECT_CUSTODIAN (pending stage's recipient).
 */
export function evaluateWorkflow(
  workflow: Workflow,
  chain: readonly ChainStep[],
  trust: WorkflowTrust,
  options: WorkflowEvaluationOptions = {},
): WorkflowReport {
  const stages = workflow.stages;
  const checks: EvaluationCheck[] = [];
  if (chain.length === 0) {
    checks.push(fail('chain', 'ERR_WORKFLOW_REJECT_ORDER', 'the chain holds no attestation'));
    return { ...summarize(checks), stages: [] };
  }
  const admits = (step: ChainStep, j: number): boolean => step.kind === stages[j]!.kind && matchSigners(stages[j]!.signers, step.signer, trust).ok;
  const match = matchStages(workflow, chain, admits);

  chain.forEach((step, n) => {
    const a = match.assignments[n]!;
    const where = `attestation ${step.seq}`;
    if (a.problem) checks.push(fail(`${where}: stage`, a.problem.code, a.problem.reason, { seq: step.seq }));
    if (a.stage === undefined) return;
    const stage = stages[a.stage]!;
    const extra = { seq: step.seq, stage: stage.name };
    if (!a.problem) checks.push(pass(`${where}: stage`, `stage "${stage.name}"`, extra));
    if (step.stage !== undefined && step.stage !== stage.name) {
      checks.push(
        fail(
          `${where}: stage name`,
          'ERR_WORKFLOW_REJECT_STAGE',
          `${where} names stage "${step.stage}", but it takes the place of stage "${stage.name}"`,
          extra,
        ),
      );
    }
    checks.push(signerCheck(where, step, stage, trust, extra));
    checks.push(claimsCheck(where, step, stage, extra));
  });

  if (workflow.maxHops !== undefined && chain.length > workflow.maxHops) {
    checks.push(
      fail('hops', 'ERR_WORKFLOW_REJECT_HOPS', `the chain holds ${chain.length} attestations; workflow "${workflow.name}" allows at most ${workflow.maxHops}`),
    );
  } else {
    checks.push(pass('hops', `${chain.length} attestation(s)`));
  }

  const pendingIndex = workflow.mayEndBefore === undefined ? -1 : stages.findIndex((s) => s.name === workflow.mayEndBefore);
  const pending = pendingIndex > match.reached ? stages[pendingIndex] : undefined;
  const last = chain[chain.length - 1]!;
  stages.forEach((stage, j) => {
    const count = match.counts[j]!;
    const name = `stage ${stage.name}: count`;
    const extra = { stage: stage.name };
    const bounds = `${stage.repeat.min}..${stage.repeat.max}`;
    if (pending !== undefined && j >= pendingIndex) {
      checks.push(pass(name, `not reached yet (the chain may end before stage "${pending.name}")`, extra));
    } else if (count > stage.repeat.max) {
      checks.push(fail(name, 'ERR_WORKFLOW_REJECT_HOPS', `stage "${stage.name}" occurs ${count} times, at most ${stage.repeat.max} allowed`, extra));
    } else if (count < stage.repeat.min) {
      const reason =
        j > match.reached
          ? `the chain ends after attestation ${last.seq} without stage "${stage.name}"`
          : `stage "${stage.name}" needs at least ${stage.repeat.min} attestation(s), found ${count}`;
      checks.push(fail(name, 'ERR_WORKFLOW_REJECT_ORDER', reason, extra));
    } else {
      checks.push(pass(name, `${count} attestation(s), ${bounds} allowed`, extra));
    }
  });
  if (pending !== undefined) checks.push(pendingCheck(pending, last, trust, options.nextCustodian));

  const stageNames = match.assignments.map((a) => (a.stage === undefined ? undefined : stages[a.stage]!.name));
  const report: WorkflowReport = { ...summarize(checks), stages: stageNames };
  return pending === undefined ? report : { ...report, pending: pending.name };
}

function signerCheck(where: string, step: ChainStep, stage: WorkflowStage, trust: WorkflowTrust, extra: { seq: number; stage: string }): EvaluationCheck {
  const m = matchSigners(stage.signers, step.signer, trust);
  if (m.ok) return pass(`${where}: signer`, `"${partyName(step.signer)}" (${m.reason})`, extra);
  const reason = `${where} is signed by "${partyName(step.signer)}", who may not sign stage "${stage.name}" (${m.reason})`;
  return fail(`${where}: signer`, 'ERR_WORKFLOW_REJECT_SIGNER', reason, extra);
}

function claimsCheck(where: string, step: ChainStep, stage: WorkflowStage, extra: { seq: number; stage: string }): EvaluationCheck {
  const failures = stage.requiredClaims.map((req) => checkClaimRequirement(req, step.claims)).filter((o) => !o.ok);
  if (failures.length === 0) return pass(`${where}: claims`, `${stage.requiredClaims.length} required claim(s) attested`, extra);
  const reason = `stage "${stage.name}" requires of ${where}: ${failures.map((f) => f.reason).join('; ')}`;
  return fail(`${where}: claims`, 'ERR_WORKFLOW_REJECT_CLAIMS', reason, extra);
}

function pendingCheck(stage: WorkflowStage, last: ChainStep, trust: WorkflowTrust, next: PartyIdentity | undefined): EvaluationCheck {
  const name = `stage ${stage.name}: pending`;
  const extra = { stage: stage.name };
  if (next === undefined) return pass(name, `the chain ends before stage "${stage.name}"; its recipient was not identified`, extra);
  if (last.to === undefined) {
    return fail(name, 'ERR_WORKFLOW_REJECT_CUSTODIAN', `attestation ${last.seq} does not say whom it hands the device to`, extra);
  }
  if (last.to.toLowerCase() !== next.spkiSha256.toLowerCase()) {
    return fail(
      name,
      'ERR_WORKFLOW_REJECT_CUSTODIAN',
      `attestation ${last.seq} hands the device to key ${last.to.slice(0, 16)}..., not to "${partyName(next)}"`,
      extra,
    );
  }
  const m = matchSigners(stage.signers, next, trust);
  if (!m.ok) return fail(name, 'ERR_WORKFLOW_REJECT_SIGNER', `"${partyName(next)}" may not sign stage "${stage.name}" (${m.reason})`, extra);
  return pass(name, `the chain ends before stage "${stage.name}", with "${partyName(next)}", who may sign it`, extra);
}
