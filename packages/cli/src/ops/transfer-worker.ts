/**
 * A worker thread of `transfer-pool.ts`: holds one party's signer and signs the transfers of the chain tips it
 * is sent (reading each head, checking custodian and state, encoding and signing), answering in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { createAttestationSigner } from '@custody/core/attestation/cms';
import { createTransfer, headOfChain } from '@custody/core/custody/chain';
import { CustodyError } from '@custody/core/errors';
import { NodeCryptoProvider, nodePrivateKeyHandle } from '@custody/core/node';
import type { ChainTip } from '@custody/core/registry/ports';
import type { PoolOutcome, PoolRequest, PoolSetup } from './transfer-pool.js';

const setup = workerData as PoolSetup & { key: KeyObject };
const provider = new NodeCryptoProvider();
const signer = await createAttestationSigner({ certificate: setup.certificate, key: nodePrivateKeyHandle(setup.key), provider });
const transfer = createTransfer({ ...setup.template, now: new Date(setup.template.now), signer });

function signOne(tip: ChainTip): PoolOutcome {
  try {
    return transfer.signSync(headOfChain(tip));
  } catch (e) {
    if (e instanceof CustodyError) return { code: e.code, message: e.message };
    throw e;
  }
}

parentPort!.on('message', ({ id, tips }: PoolRequest) => {
  parentPort!.postMessage({ id, out: tips.map(signOne) });
});
