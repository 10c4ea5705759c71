/**
 * The result shape of workflow and policy evaluation: every check with its outcome, never a bare boolean.
 */

/** One check: its name, outcome, why, and a stable code when it failed. */
export interface EvaluationCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly reason?: string;
  /** Set on failed checks: an `ERR_WORKFLOW_REJECT_*` or `ERR_POLICY_*` code. */
  readonly code?: string;
  /** The attestation's sequence number, for checks about one attestation. */
  readonly seq?: number;
  /** The workflow stage the check is about, when it is about one. */
  readonly stage?: string;
}

/** A list of checks; `ok` only when every check passed, `code` the first failure's code. */
export interface EvaluationReport {
  readonly ok: boolean;
  readonly checks: readonly EvaluationCheck[];
  readonly code?: string;
}

/** A passed check. */
export function pass(name: string, reason?: string, extra: { seq?: number; stage?: string } = {}): EvaluationCheck {
  return reason === undefined ? { name, ok: true, ...extra } : { name, ok: true, reason, ...extra };
}

/** A failed check. */
export function fail(name: string, code: string, reason: string, extra: { seq?: number; stage?: string } = {}): EvaluationCheck {
  return { name, ok: false, code, reason, ...extra };
}

/** `ok` and the first failure's code over `checks`. */
export function summarize(checks: readonly EvaluationCheck[]): EvaluationReport {
  const first = checks.find((c) => !c.ok);
  return first === undefined ? { ok: true, checks } : { ok: false, checks, code: first.code ?? 'ERR_VERIFY' };
}
