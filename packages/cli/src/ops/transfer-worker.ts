/**
 * A worker thread of a handoff batch (handoff.ts): holds one party's signer and turns the chain tips it is sent
 * into signed transfers (reading each head, checking custodian and state, encoding, signing), in order.
 */
import { workerData } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { createAttestationSigner } from '@custody/core/attestation/cms';
import { createTransfer } from '@custody/core/custody/chain';
import { NodeCryptoProvider, nodePrivateKeyHandle } from '@custody/core/node';
import type { ChainTip } from '@custody/core/registry/ports';
import type { TransferSetup } from './handoff.js';
import { signOutcomes, type TransferOutcome } from './transfer-outcome.js';
import { serveRequests } from './worker-pool.js';

const setup = workerData as TransferSetup & { key: KeyObject };
const provider = new NodeCryptoProvider();
const signer = await createAttestationSigner({ certificate: setup.certificate, key: nodePrivateKeyHandle(setup.key), provider });
const transfer = createTransfer({ ...setup.template, now: new Date(setup.template.now), signer });

serveRequests((tips: ChainTip[]): Promise<TransferOutcome[]> => signOutcomes(transfer, tips));
