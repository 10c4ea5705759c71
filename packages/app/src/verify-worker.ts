/** A pallet's verifying thread: builds the verifier from the command's inputs once, then verifies files. */
import { workerData } from 'node:worker_threads';
import { serveRequests } from './worker-pool.js';
import { prepareVerification, verifyFiles, type BundleVerdict, type VerifyInputs } from './verify.js';

const prepared = prepareVerification(undefined, workerData as VerifyInputs);

serveRequests<string[], BundleVerdict[]>(async (files) => verifyFiles(await prepared, files, { deferCheckpoint: true }));
