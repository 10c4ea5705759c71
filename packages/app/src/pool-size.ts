/**
 * How many worker threads a batch gets. Apart from worker-pool.ts so that a command deciding it for a small batch
 * (one CSR at a factory station) does not load the worker machinery.
 */
import { availableParallelism } from 'node:os';

/** Batches smaller than this stay on the main thread: starting a worker costs about what 500 signatures do. */
export const POOL_MIN_BATCH = 2048;

/**
 * How many worker threads a batch of `n` items gets: CUSTODY_THREADS when set (0 turns them off, any other
 * number forces them whatever the batch), else none for a small batch and one per core beyond the main one.
 */
export function poolThreads(n: number, env: NodeJS.ProcessEnv = process.env): number {
  return threadsFor(n, POOL_MIN_BATCH, env);
}

/** Pallets smaller than this are verified on the main thread: a worker's start costs about what 50 bundles do. */
export const PALLET_MIN_BUNDLES = 128;

/**
 * How many worker threads verify a pallet of `n` bundles beside the main thread: CUSTODY_THREADS when set, else
 * none for a small pallet and one per core beyond the main one.
 */
export function palletThreads(n: number, env: NodeJS.ProcessEnv = process.env): number {
  return threadsFor(n, PALLET_MIN_BUNDLES, env);
}

/** CUSTODY_THREADS when set (at most 8), else none below `min` items and one per core beyond the main one (at most 4). */
function threadsFor(n: number, min: number, env: NodeJS.ProcessEnv): number {
  const set = env.CUSTODY_THREADS;
  if (set !== undefined && /^\d+$/.test(set)) return Math.min(Number(set), 8);
  if (n < min) return 0;
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}
