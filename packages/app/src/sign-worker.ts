/**
 * A signing worker thread of a batch (handoff.ts): holds one private key, as a KeyObject passed in memory, and
 * answers each request (byte strings) with their signatures in P1363 form, packed end to end. Only the
 * private-key operation runs here; the main thread builds what is signed and the attestations around it, so
 * this thread starts quickly and has almost no JavaScript to warm up.
 */
import { workerData } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { NodeCryptoProvider, nodePrivateKeyHandle } from '@custody/core/node';
import { concatBytes } from '@custody/core/util';
import { serveRequests } from './worker-pool.js';

const provider = new NodeCryptoProvider();
const key = nodePrivateKeyHandle((workerData as { key: KeyObject }).key);

serveRequests((messages: Uint8Array[]): Uint8Array => concatBytes(...messages.map((m) => provider.signSync(key, m))));
