/**
 * Assigns each attestation of a chain to a workflow stage: greedy, in chain order, over the ordered stages.
 *
 * The candidates for the next attestation are the current stage (while it has repeats left; only it, while it
 * has not reached its minimum), then each following stage up to and including the first one that must occur
 * (`repeat.min` > 0): optional stages may be skipped, required ones may not. The attestation goes to the first
 * candidate it fits (same kind, signer admitted), preferring the candidate its predicate names. When none fits,
 * the matcher looks for the stage it would fit anywhere else, to name the failure: the current stage again (too
 * many repeats), a later stage (a required stage was skipped), an earlier one (out of order). It never
 * backtracks, so the result is deterministic and linear in the chain's length.
 */
import type { Workflow } from './workflow.js';

/** The placement failure codes the matcher itself produces. */
export type PlacementCode = 'ERR_WORKFLOW_REJECT_ORDER' | 'ERR_WORKFLOW_REJECT_HOPS' | 'ERR_WORKFLOW_REJECT_KIND';

/** Where one attestation went: a stage index (undefined when no stage can take it) and any placement failure. */
export interface StageAssignment {
  readonly stage: number | undefined;
  readonly problem?: { readonly code: PlacementCode; readonly reason: string };
}

/** The matcher's result: one assignment per attestation, attestations per stage, and the last stage reached. */
export interface StageMatch {
  readonly assignments: readonly StageAssignment[];
  readonly counts: readonly number[];
  /** Index of the furthest stage reached, -1 for an empty chain. */
  readonly reached: number;
}

/** What the matcher needs to know of an attestation. */
export interface MatchableStep {
  readonly seq: number;
  readonly kind: string;
  readonly stage?: string;
}

/**
 * Matches a chain against the stages. `fits(step, i)` says whether stage `i` admits the step (kind and signer).
 */
export function matchStages<S extends MatchableStep>(workflow: Workflow, chain: readonly S[], fits: (step: S, stage: number) => boolean): StageMatch {
  const stages = workflow.stages;
  const counts = stages.map(() => 0);
  const assignments: StageAssignment[] = [];
  let cur = -1;

  const candidates = (): number[] => {
    if (cur >= 0 && counts[cur]! < stages[cur]!.repeat.min) return [cur];
    const out: number[] = cur >= 0 && counts[cur]! < stages[cur]!.repeat.max ? [cur] : [];
    for (let j = cur + 1; j < stages.length; j++) {
      out.push(j);
      if (stages[j]!.repeat.min > 0) break;
    }
    return out;
  };
  const place = (j: number, problem?: StageAssignment['problem']): void => {
    counts[j]!++;
    cur = Math.max(cur, j);
    assignments.push(problem === undefined ? { stage: j } : { stage: j, problem });
  };

  for (const step of chain) {
    const cands = candidates();
    const fitting = cands.filter((j) => fits(step, j));
    const chosen = fitting.find((j) => stages[j]!.name === step.stage) ?? fitting[0];
    if (chosen !== undefined) {
      place(chosen);
      continue;
    }
    const elsewhere = searchOrder(
      stages.length,
      cur,
      cands,
      stages.findIndex((s) => s.name === step.stage),
    ).find((j) => fits(step, j));
    if (elsewhere !== undefined) {
      place(elsewhere, misplaced(workflow, step.seq, elsewhere, cur, counts));
      continue;
    }
    const sameKind = cands.find((j) => stages[j]!.kind === step.kind);
    if (sameKind !== undefined) {
      place(sameKind);
    } else if (cands.length > 0) {
      const s = stages[cands[0]!]!;
      place(cands[0]!, {
        code: 'ERR_WORKFLOW_REJECT_KIND',
        reason: `attestation ${step.seq} is ${article(step.kind)} ${step.kind} attestation, but stage "${s.name}" takes ${s.kind} attestations`,
      });
    } else {
      const last = stages[stages.length - 1]!;
      assignments.push({
        stage: undefined,
        problem: { code: 'ERR_WORKFLOW_REJECT_ORDER', reason: `attestation ${step.seq} comes after the last stage "${last.name}"` },
      });
    }
  }
  return { assignments, counts, reached: cur };
}

// The named stage first, then the current stage, later stages, earlier stages.
function searchOrder(n: number, cur: number, cands: readonly number[], named: number): number[] {
  const order: number[] = named >= 0 && !cands.includes(named) ? [named] : [];
  const push = (j: number): void => {
    if (!cands.includes(j) && !order.includes(j)) order.push(j);
  };
  if (cur >= 0) push(cur);
  for (let j = cur + 1; j < n; j++) push(j);
  for (let j = 0; j < cur; j++) push(j);
  return order;
}

function misplaced(workflow: Workflow, seq: number, j: number, cur: number, counts: readonly number[]): StageAssignment['problem'] {
  const stages = workflow.stages;
  const s = stages[j]!;
  if (j === cur) {
    return {
      code: 'ERR_WORKFLOW_REJECT_HOPS',
      reason: `attestation ${seq} would be attestation ${counts[j]! + 1} of stage "${s.name}", which allows at most ${s.repeat.max}`,
    };
  }
  if (j < cur) {
    return { code: 'ERR_WORKFLOW_REJECT_ORDER', reason: `attestation ${seq} fits stage "${s.name}", which comes before stage "${stages[cur]!.name}"` };
  }
  let blocking = cur >= 0 && counts[cur]! < stages[cur]!.repeat.min ? cur : -1;
  for (let k = cur + 1; blocking < 0 && k < j; k++) if (stages[k]!.repeat.min > counts[k]!) blocking = k;
  const before = blocking >= 0 ? `stage "${stages[blocking]!.name}" must come first` : 'an earlier stage must come first';
  return { code: 'ERR_WORKFLOW_REJECT_ORDER', reason: `attestation ${seq} fits stage "${s.name}", but ${before}` };
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
