/**
 * A pallet's verifying thread: builds the verifier from the inputs the main thread read and parsed (plain data,
 * `VerifierData`), then reads and verifies the files of each piece it is sent and answers with the piece's reports
 * encoded (verdict-codec.ts). It loads core's verifier and nothing of the store, YAML or the CLI: its start is
 * part of every pallet's time.
 */
import { workerData } from 'node:worker_threads';
import { serveRequests } from './worker-pool.js';
import { encodeVerdicts, type EncodedVerdicts } from './verdict-codec.js';
import { threadVerification, verifyFiles, type BundleVerdict, type VerifierData } from './verify-files.js';

const prepared = threadVerification(workerData as VerifierData);

serveRequests<string[], EncodedVerdicts | readonly BundleVerdict[]>(async (files) =>
  encodeVerdicts(await verifyFiles(prepared, files, { deferCheckpoint: true })),
);
