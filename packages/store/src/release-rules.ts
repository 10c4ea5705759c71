/**
 * The rules a registry checks when it records a release or a withdrawal list, shared by both backends so that
 * they refuse the same things with the same codes: the releases form one chain (each names the newest before it),
 * a model's security counter never goes down, withdrawal lists are numbered 1, 2, 3...
 */
import { CustodyError } from '@custody/core/errors';
import type { ReleaseRecord } from '@custody/core/ports';

/** What a registry knows of the releases before the one being recorded. */
export interface PriorReleases {
  readonly exists: boolean;
  /** Hash of the newest release, or null when there is none. */
  readonly newest: string | null;
  /** Earlier releases that name at least one of the new release's models (their counter and models). */
  readonly sameModels: ReadonlyArray<Pick<ReleaseRecord, 'securityCounter' | 'models' | 'version'>>;
}

/** The refusal of `record` after `prior`, or undefined when it may be recorded. */
export function releaseConflict(record: ReleaseRecord, prior: PriorReleases, location: string): CustodyError | undefined {
  if (prior.exists) return new CustodyError('ERR_CONFLICT_RELEASE_EXISTS', `${location}: release ${record.hash} is already recorded`);
  if (record.previous !== prior.newest)
    return new CustodyError(
      'ERR_CONFLICT_RELEASE_PREVIOUS',
      `${location}: release ${record.version} names ${record.previous ?? 'no'} previous release, but the newest recorded is ${prior.newest ?? 'none'} (another release was recorded meanwhile: run the command again)`,
    );
  for (const r of prior.sameModels) {
    const model = r.models.find((m) => record.models.includes(m));
    if (model !== undefined && record.securityCounter < r.securityCounter)
      return new CustodyError(
        'ERR_CONFLICT_SECURITY_COUNTER',
        `${location}: release ${record.version} has security counter ${record.securityCounter} for model ${model}, below release ${r.version}'s ${r.securityCounter}`,
      );
  }
  return undefined;
}

/** The refusal of a withdrawal list numbered `number` after the newest numbered `newest` (0 for none). */
export function withdrawalsConflict(number: number, newest: number, location: string): CustodyError | undefined {
  return number === newest + 1
    ? undefined
    : new CustodyError('ERR_CONFLICT_WITHDRAWALS_NUMBER', `${location}: withdrawal list ${number} does not follow list ${newest} (run the command again)`);
}
