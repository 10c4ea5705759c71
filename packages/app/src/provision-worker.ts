/**
 * A worker thread of a provisioning batch (provision-pool.ts). Phase 1: parses each CSR and checks its signature,
 * answering with what it asks for or why it is refused. Phase 2: given the batch's issuing inputs once
 * (`issuing.ts`, the same from which the main thread issues), issues each piece it is sent with core's
 * `createIssuer`: the certificate and the birth attestation of each device. Nothing is recorded here: the main
 * thread holds the store.
 */
import { CustodyError } from '@custody/core/errors';
import { NodeCryptoProvider } from '@custody/core/node';
import { checkRequest, createIssuer, type Prepared, type ProvisionedDevice } from '@custody/core/provisioning';
import { serveRequests } from './worker-pool.js';
import { ownBytes, type CheckAnswer, type CheckJob } from './check-requests.js';
import { issuingOptions, issuingParts } from './issuing.js';
import type { ProvisionAnswer, ProvisionJob } from './provision-pool.js';

const provider = new NodeCryptoProvider();
let issue: ((p: Prepared) => Promise<ProvisionedDevice>) | undefined;

async function check(jobs: CheckJob[]): Promise<CheckAnswer[]> {
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
}

serveRequests(async (job: ProvisionJob): Promise<ProvisionAnswer> => {
  if ('check' in job) return check(job.check);
  if ('issuing' in job) {
    try {
      issue = createIssuer(await issuingOptions(await issuingParts(job.issuing, provider), provider, job.now));
      return true;
    } catch {
      // The main thread built the same issuing from the same inputs; should this thread not, it only checks
      // requests, and the main thread issues every device.
      return false;
    }
  }
  if (!issue) throw new Error('a provisioning worker was asked to issue before it was told what to issue with');
  const devices: ProvisionedDevice[] = [];
  for (const p of job.issue) {
    const d = await issue(p);
    // Own copies: an attestation is a view into the signer's shared slab, which a structured clone would copy
    // whole, earlier devices' bytes with it.
    devices.push({ ...d, certificate: ownBytes(d.certificate), attestations: d.attestations.map(ownBytes) });
  }
  return devices;
});
