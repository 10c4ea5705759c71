/**
 * The verifying threads of pallets (verify-worker.ts), kept between the pallets of one process. A thread's first
 * thousands of bundles run on code the JIT has not optimized yet (several times slower than it becomes), so a
 * process that verifies pallet after pallet (a receiving dock's station, a server) keeps its threads, and each
 * pallet sends them its own evidence and rules (`VerifierData`) under a number of its own: a thread verifies a
 * pallet's files with that pallet's verifier only, and forgets it when the pallet is done. Idle threads do not keep
 * the process alive. The CLI verifies one pallet a process: its threads start with it.
 */
import type { WorkerPool } from './worker-pool.js';
import type { EncodedVerdicts } from './verdict-codec.js';
import type { BundleVerdict, VerifierData } from './verify-files.js';

/** A request to a verifying thread: a pallet opened with its inputs, a piece of its files, the pallet done. */
export type PalletJob = { open: number; data: VerifierData } | { pallet: number; files: string[] } | { done: number };
/** Its answer: `true` for open and done; a piece's verdicts, encoded (verdict-codec.ts). */
export type PalletAnswer = EncodedVerdicts | readonly BundleVerdict[] | true;

/** One pallet's use of the threads. */
export interface PalletLease {
  /** Verifies a piece of the pallet's files on the next thread. */
  run(files: string[]): Promise<PalletAnswer>;
  /** The pallet is done: its verifier is dropped; threads that failed are stopped and not kept. */
  release(): Promise<void>;
}

interface Kept {
  pool: WorkerPool<PalletJob, PalletAnswer>;
  threads: number;
  users: number;
}

let kept: Kept | undefined;
let started = 0;
let nextPallet = 1;

/**
 * `threads` verifying threads for a pallet verified with `data`: the kept ones, or new ones. The pallet's inputs
 * go to every thread before its first piece (a thread answers in order), without waiting for threads still
 * starting: this thread verifies meanwhile.
 */
export async function leasePalletThreads(data: VerifierData, threads: number): Promise<PalletLease> {
  const { WorkerPool } = await import('./worker-pool.js');
  // Nothing awaits from here to the lease's count: pallets starting at once share the kept threads, and a set is
  // replaced and closed only when no pallet holds it (one that does closes it when it is done).
  let k = kept;
  if (!k || k.threads !== threads || k.pool.failed) {
    const old = k;
    k = { pool: new WorkerPool<PalletJob, PalletAnswer>(new URL('./verify-worker.js', import.meta.url), undefined, threads), threads, users: 0 };
    started += 1;
    kept = k;
    if (old && old.users === 0) void old.pool.close();
  }
  const lease = k;
  const pallet = nextPallet++;
  lease.users += 1;
  lease.pool.ref();
  // A refusal shows again on the pieces: the pallet's error handling takes it from there.
  lease.pool.broadcast({ open: pallet, data }).catch(() => {});
  return {
    run: (files) => lease.pool.run({ pallet, files }),
    async release() {
      lease.users -= 1;
      if (lease.pool.failed || lease !== kept) {
        if (lease.users === 0) await lease.pool.close();
        if (lease === kept) kept = undefined;
        return;
      }
      lease.pool.broadcast({ done: pallet }).catch(() => {});
      if (lease.users === 0) lease.pool.unref();
    },
  };
}

/** How many sets of verifying threads this process has started (one for any number of pallets, unless a thread failed). */
export function palletThreadsStarted(): number {
  return started;
}

/** Stops the kept threads (a server shutting down; tests): a pallet still on them finishes on its own thread. */
export async function closePalletThreads(): Promise<void> {
  const k = kept;
  kept = undefined;
  if (k) await k.pool.close();
}
