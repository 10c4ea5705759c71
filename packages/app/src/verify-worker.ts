/**
 * A pallet's verifying thread: builds the verifier from the command's inputs once (while the main thread prepares
 * its own), then reads and verifies the files of each piece it is sent and answers with the piece's reports
 * encoded (verdict-codec.ts).
 */
import { workerData } from 'node:worker_threads';
import { serveRequests } from './worker-pool.js';
import { encodeVerdicts, type EncodedVerdicts } from './verdict-codec.js';
import { prepareVerification, verifyFiles, type BundleVerdict, type VerifyInputs } from './verify.js';

const prepared = prepareVerification(undefined, workerData as VerifyInputs);

serveRequests<string[], EncodedVerdicts | readonly BundleVerdict[]>(async (files) =>
  encodeVerdicts(await verifyFiles(await prepared, files, { deferCheckpoint: true })),
);
