/**
 * A verification's outcome from its checks: the verdict is the first failed check (the report lists the root cause
 * first), and a report whose log checkpoint is still to be compared with the verifier's memory is no verdict yet
 * until `settleCheckpoint` completes it.
 */
import type { Claims } from '../attestation/claims.js';
import type { ConsistencyProof } from '../log/consistency.js';
import type { HashFn } from '../log/merkle.js';
import { checkRemembered, type CheckpointMemory, type SeenCandidate } from './checkpoint-memory.js';
import type { VerificationCheck, VerificationReport } from './report.js';

/** What a verification learns besides its checks. */
export interface RunOutput {
  device?: string;
  custodian?: string;
  custodianParty?: { subject: string; spkiSha256: string };
  challenge?: string;
  pendingCheckpoint?: { candidate: SeenCandidate; at: number };
  claims: Claims;
}

/** `ok` and, when not, the first failed check's code. */
function verdictOf(checks: readonly VerificationCheck[]): { ok: boolean; code?: string } {
  const first = checks.find((c) => !c.ok);
  if (first === undefined && checks.length > 0) return { ok: true };
  return { ok: false, code: first?.code ?? 'ERR_VERIFY_INTERNAL' };
}

/** The report of a verification: its verdict, checks and what it learned, keys in their documented order. */
export function assembleReport(checks: VerificationCheck[], out: RunOutput): VerificationReport {
  // A report whose checkpoint is still to be settled is no verdict yet: not accepted until `settleCheckpoint`.
  const verdict = out.pendingCheckpoint ? { ok: false, code: 'ERR_VERIFY_LOG_PENDING' } : verdictOf(checks);
  // Literals rather than a spread of `verdict` (a generic object copy, once per bundle): keys in the same order.
  const report: { -readonly [K in keyof VerificationReport]: VerificationReport[K] } =
    verdict.code === undefined
      ? { ok: verdict.ok, effectiveClaims: out.claims, checks }
      : { ok: verdict.ok, code: verdict.code, effectiveClaims: out.claims, checks };
  if (out.device !== undefined) report.device = out.device;
  if (out.custodian !== undefined) report.custodian = out.custodian;
  if (out.custodianParty !== undefined) report.custodianParty = out.custodianParty;
  if (out.challenge !== undefined) report.challenge = out.challenge;
  if (out.pendingCheckpoint !== undefined) report.pendingCheckpoint = out.pendingCheckpoint;
  return report;
}

/**
 * Completes a report verified with `deferCheckpoint` (until then it is not accepted, ERR_VERIFY_LOG_PENDING):
 * checks its log checkpoint against `memory` (remembering it when it is newer and proven) and puts that check
 * where `verify` would have; without a memory, gives the report `verify` gives without one. A report without a
 * pending checkpoint is returned as it is.
 * @throws whatever the memory port throws
 */
export async function settleCheckpoint(
  report: VerificationReport,
  memory: CheckpointMemory | undefined,
  consistency: readonly ConsistencyProof[] = [],
  hash?: HashFn,
): Promise<VerificationReport> {
  const pending = report.pendingCheckpoint;
  if (!pending) return report;
  const checks = memory
    ? [...report.checks.slice(0, pending.at), await checkRemembered(pending.candidate, memory, consistency, hash), ...report.checks.slice(pending.at)]
    : [...report.checks];
  const { pendingCheckpoint: _, code: _code, ...rest } = report;
  return { ...rest, ...verdictOf(checks), checks };
}
