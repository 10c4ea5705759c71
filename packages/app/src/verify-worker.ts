/**
 * A pallet's verifying thread, kept between the pallets of a process (pallet-threads.ts): each pallet opens with
 * the inputs the main thread read and parsed (plain data, `VerifierData`), from which this thread builds that
 * pallet's verifier; then it reads and verifies the files of each piece it is sent with that verifier and answers
 * with the piece's reports encoded (verdict-codec.ts). It loads core's verifier and nothing of the store, YAML or
 * the CLI: its start is part of a first pallet's time.
 */
import { serveRequests } from './worker-pool.js';
import { encodeVerdicts } from './verdict-codec.js';
import { threadVerification, verifyFiles, type PreparedVerification } from './verify-files.js';
import type { PalletAnswer, PalletJob } from './pallet-threads.js';

/** The verifier of each pallet open on this thread: a piece is verified with its own pallet's, or not at all. */
const pallets = new Map<number, PreparedVerification>();

serveRequests(async (job: PalletJob): Promise<PalletAnswer> => {
  if ('open' in job) {
    pallets.set(job.open, threadVerification(job.data));
    return true;
  }
  if ('done' in job) {
    pallets.delete(job.done);
    return true;
  }
  const prepared = pallets.get(job.pallet);
  // A bug, not an input problem: stopping this thread hands the piece back to the main thread.
  if (!prepared) throw new Error(`pallet ${job.pallet} is not open on this verifying thread`);
  return encodeVerdicts(await verifyFiles(prepared, job.files, { deferCheckpoint: true }));
});
