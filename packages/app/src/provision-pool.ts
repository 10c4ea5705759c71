/**
 * The worker threads of a large provisioning batch (provision-worker.ts): started first, so that they load while
 * this thread derives the batch's keys and reads its requests; they check CSR signatures in phase 1, then, once
 * told what to issue with, issue whole pieces in phase 2 (certificate and birth attestation), while this thread
 * records chunks and issues pieces of its own.
 */
import type { ProvisionedDevice, Prepared } from '@custody/core/provisioning';
import type { CheckAnswer, CheckJob } from './check-requests.js';
import type { IssuingSpec } from './issuing.js';
import type { WorkerPool } from './worker-pool.js';

/** A request to a provisioning worker. */
export type ProvisionJob = { check: CheckJob[] } | { issuing: IssuingSpec; now: Date } | { issue: Prepared[] };

/** Its answer: the checks' outcomes; whether it could build its issuing from the inputs; the devices of a piece, in order. */
export type ProvisionAnswer = CheckAnswer[] | boolean | ProvisionedDevice[];

/** A provisioning batch's pool, and its thread count. */
export interface ProvisionPool {
  pool: WorkerPool<ProvisionJob, ProvisionAnswer>;
  threads: number;
}

/**
 * Starts `threads` provisioning workers (none: undefined). The worker machinery loads only then: a station
 * issuing one device at a time never loads it.
 */
export async function startProvisionPool(threads: number): Promise<ProvisionPool | undefined> {
  if (threads <= 0) return undefined;
  const { WorkerPool } = await import('./worker-pool.js');
  return { pool: new WorkerPool<ProvisionJob, ProvisionAnswer>(new URL('./provision-worker.js', import.meta.url), undefined, threads), threads };
}
