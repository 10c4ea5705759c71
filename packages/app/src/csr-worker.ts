/**
 * A request-checking worker thread of a provisioning batch (check-requests.ts): parses each CSR and checks its
 * signature, the most expensive step of phase 1, and answers with what it asks for or why it is refused.
 */
import { CustodyError } from '@custody/core/errors';
import { NodeCryptoProvider } from '@custody/core/node';
import { checkRequest } from '@custody/core/provisioning';
import { serveRequests } from './worker-pool.js';
import { ownBytes, type CheckAnswer, type CheckJob } from './check-requests.js';

const provider = new NodeCryptoProvider();

serveRequests(async (jobs: CheckJob[]): Promise<CheckAnswer[]> => {
  const out: CheckAnswer[] = [];
  for (const job of jobs) {
    try {
      const { serial, spki, commonName } = await checkRequest(job, provider);
      out.push({ serial, spki: ownBytes(spki), ...(commonName === undefined ? {} : { commonName }) });
    } catch (e) {
      // Anything but a refusal (a bug) fails the batch: serveRequests lets it stop this worker.
      if (!(e instanceof CustodyError)) throw e;
      out.push({ code: e.code, message: e.message, category: e.category, ...(e.file !== undefined ? { file: e.file } : {}) });
    }
  }
  return out;
});
