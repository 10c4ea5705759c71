/**
 * A token key opened on a worker thread as well as on the main one. C_Initialize is per process and a worker's
 * module instance is the process's, so a worker that ends must close its own sessions and nothing more.
 * Regression: the first worker to end ran C_Finalize from its exit hook, and every key of the main thread then
 * failed with CKR_CRYPTOKI_NOT_INITIALIZED. Skipped, saying why, where SoftHSM is not installed.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { isLowS } from '@custody/core/crypto';
import { generateTokenKey } from '../../src/pkcs11/generate-key.js';
import { closeTokenSessions, openTokenSession } from '../../src/pkcs11/token-session.js';
import { testTokenOrSkip, type TestToken } from './softhsm.js';

const PIN = '135790';
const LABEL = 'custody-worker';

/** Opens the key `uri` names on a new worker thread, signs `data` there; the signature and the worker's session handle. */
async function signOnWorker(uri: string, data: Uint8Array): Promise<{ signature: Uint8Array; session: Buffer }> {
  // Loader hooks do not reach a worker on Node 20: tsx's own import loads the same sources as this test.
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const { readFileSync } = require('node:fs');
     (async () => {
       const { tsImport } = await import('tsx/esm/api');
       const { openTokenKey } = await tsImport(workerData.keyModule, workerData.keyModule);
       const { openTokenSession } = await tsImport(workerData.sessionModule, workerData.sessionModule);
       const env = { readFile: (f) => readFileSync(f) };
       const signature = openTokenKey(workerData.uri, env).signSync(workerData.data);
       parentPort.postMessage({ signature, session: openTokenSession(workerData.uri, env).session });
     })();`,
    {
      eval: true,
      workerData: {
        uri,
        data,
        keyModule: new URL('../../src/pkcs11/token-key.ts', import.meta.url).href,
        sessionModule: new URL('../../src/pkcs11/token-session.ts', import.meta.url).href,
      },
    },
  );
  const answer = new Promise<{ signature: Uint8Array; session: Uint8Array }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const { signature, session } = await answer;
  assert.equal(await exited, 0);
  return { signature, session: Buffer.from(session) };
}

describe('token keys on worker threads (SoftHSM)', function () {
  this.timeout(60_000);
  let token: TestToken;
  const savedModule = process.env.CUSTODY_PKCS11_MODULE;

  before(function () {
    token = testTokenOrSkip(this, LABEL, PIN);
    process.env.CUSTODY_PKCS11_MODULE = token.module;
  });

  after(() => {
    closeTokenSessions();
    token?.dispose();
    if (savedModule === undefined) delete process.env.CUSTODY_PKCS11_MODULE;
    else process.env.CUSTODY_PKCS11_MODULE = savedModule;
  });

  it("regression: a worker that opened a token key and ended leaves the main thread's keys signing, and closes its own session", async () => {
    const uri = `pkcs11:token=${LABEL};object=shared?pin-source=file:${token.pinFile}`;
    const env = { readFile: (f: string) => readFileSync(f) };
    const { key } = generateTokenKey(uri, { ...env, curve: 'P-256' });
    const data = new TextEncoder().encode('signed on a worker thread');

    const { signature, session } = await signOnWorker(uri, data);

    // The worker's signature: the same key, P1363 r || s, low-S.
    const publicKey = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
    assert.equal(signature.length, 64);
    assert.ok(isLowS(signature, 'P-256'));
    assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature));
    // The main thread's key still signs after the worker ended: the module was not finalised under it.
    assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, key.signSync(data)));
    // The worker's session went with it (its session copy of the key with it); the main thread's stays open.
    const main = openTokenSession(uri, env);
    assert.notDeepEqual(session, main.session);
    assert.throws(() => main.lib.C_GetSessionInfo(session), /CKR_SESSION_HANDLE_INVALID/);
    assert.equal(main.lib.C_GetSessionInfo(main.session).slotID.toString('hex'), main.slot.toString('hex'));
  });
});
