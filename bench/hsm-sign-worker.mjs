/**
 * The worker thread of `hsm.twoThreadSignPerSec` (hsm.mjs): opens the token key by its URI in a session of its
 * own (the module is the process's, already logged in; the PIN comes from the URI's pin-source file), says it
 * is ready, then makes n signatures for each count n it is sent and says when they are done.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { NodeCryptoProvider } from '@custody/core/node';
import { openTokenKey } from '@custody/app/pkcs11/token-key';

const provider = new NodeCryptoProvider();
const key = openTokenKey(workerData.uri, { env: { ...process.env, CUSTODY_PKCS11_MODULE: workerData.module }, readFile: (f) => readFileSync(f) });
const data = Buffer.alloc(300, 7);
parentPort.on('message', (n) => {
  for (let i = 0; i < n; i++) provider.signSync(key, data);
  parentPort.postMessage('done');
});
parentPort.postMessage('ready');
