/**
 * Two activations racing for one LDevID key (issue 20): both passed the LDevID check, the loser's activation was
 * recorded and its LDevID refused, leaving the device activated without the LDevID it asked for (a re-run then
 * said the chain was closed). Now the activation and its LDevID record are one write: the loser records neither.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCSR, decodePEM, encodePEM, readCertificateInfo } from '@custody/core';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { NodeCryptoProvider } from '@custody/core/node';
import { EmbeddedStore, type Store } from '@custody/store';
import { activateDevice, type ActivateOptions } from '../src/activate.js';
import { createCA, createParty } from '../src/ca.js';
import { loadTemplate, templatesDir } from '../src/context.js';
import { answerChallenge, writeChallenge } from '../src/possession.js';
import { provision } from '../src/provision.js';
import { showDevice } from '../src/show.js';

const PASS = 'activate ldevid test passphrase';
const DEVICE_PASS = 'device keys';
const provider = new NodeCryptoProvider();

describe('devices activate with an LDevID (issue 20: two activations racing for one LDevID key)', function () {
  this.timeout(120_000);
  let tmp: string;
  let store: EmbeddedStore;
  let rootPem: string;

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-activate-ldevid-'));
    store = await EmbeddedStore.init(join(tmp, 'store'), new Date());
    const tdir = templatesDir(undefined);
    const c = { organization: 'Race', protection: { passphrase: PASS }, passphrase: PASS, now: new Date() };
    await createCA(store, { name: 'root', template: await loadTemplate(tdir, 'root-ca'), ...c });
    await createCA(store, { name: 'issuing', template: await loadTemplate(tdir, 'issuing-ca'), issuer: 'root', ...c });
    await createParty(store, { name: 'customer', ca: 'root', template: await loadTemplate(tdir, 'party'), ...c });
    await provision(store, {
      ca: 'issuing',
      template: await loadTemplate(tdir, 'idevid'),
      generate: 2,
      serialPattern: 'LR{seq:3}',
      start: 1,
      out: join(tmp, 'issued'),
      passphrase: PASS,
      party: 'customer',
      deviceKeyProtection: { passphrase: DEVICE_PASS },
      now: new Date(),
    });
    rootPem = join(tmp, 'root.pem');
    writeFileSync(rootPem, (await store.getCA('root'))!.certificate);
  });
  after(async function () {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const csrFor = async (name: string, key: PrivateKeyHandle): Promise<string> => {
    const file = join(tmp, `${name}.csr`);
    writeFileSync(file, encodePEM(await createCSR([['O', 'Race']], key, provider), 'CERTIFICATE REQUEST'));
    return file;
  };
  /** The device's answer to `challenge` (a new one unless given), covering the LDevID request `csr`. */
  const respond = async (serial: string, csr: string, name: string, challenge = join(tmp, `${name}-c.json`)): Promise<string> => {
    if (!existsSync(challenge)) await writeChallenge(store, { serial, out: challenge, ttlSeconds: 600, now: new Date() });
    const response = join(tmp, `${name}-r.json`);
    await answerChallenge({ key: join(tmp, 'issued', `${serial}.key.pem`), challenge, out: response, passphrase: DEVICE_PASS, ldevidCsr: csr });
    return response;
  };
  const options = (serial: string, csr: string, response: string, out: string): ActivateOptions => ({
    serial,
    party: 'customer',
    passphrase: PASS,
    trust: [rootPem],
    cas: [],
    crls: [],
    at: new Date(),
    response,
    ldevid: { ca: 'root', csr, out },
  });

  it('the loser of two activations racing for one LDevID key is not activated (was: activated without its LDevID), and a re-run with a key of its own succeeds', async function () {
    const [a, b] = ['LR001', 'LR002'];
    const shared = (await provider.generateKeyPair('P-256')).privateKey;
    const csrA = await csrFor('a', shared);
    const csrB = await csrFor('b', shared);
    const responseA = await respond(a, csrA, 'a');
    const responseB = await respond(b, csrB, 'b');
    // B checks its request while the key is nobody's; A's activation is recorded, with its LDevID, before B's.
    const racing = new Proxy(store as Store, {
      get(target, prop) {
        if (prop === 'ldevidKeyHolder')
          return async (spki: string) => {
            const seen = await target.ldevidKeyHolder(spki);
            assert.equal((await activateDevice(target, options(a, csrA, responseA, join(tmp, 'a.pem')))).accepted, true);
            return seen;
          };
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const outB = join(tmp, 'b.pem');
    await assert.rejects(activateDevice(racing, options(b, csrB, responseB, outB)), (e: Error & { code?: string; file?: string }) => {
      assert.equal(e.code, 'ERR_DUPLICATE_KEY');
      assert.equal(e.file, csrB);
      assert.match(e.message, new RegExp(`device ${a}`));
      return true;
    });
    assert.equal(existsSync(join(tmp, 'a.pem')), true);
    assert.equal((await showDevice(store, a)).activated, true);
    assert.equal((await showDevice(store, b)).activated, false, 'the loser is not activated');
    assert.deepEqual(await store.listLDevIDs(b), []);
    assert.equal(existsSync(outB), false);

    // Re-run with a key of its own, answering the same challenge (the lost race did not spend it).
    const csrOwn = await csrFor('b-own', (await provider.generateKeyPair('P-256')).privateKey);
    const again = await activateDevice(store, options(b, csrOwn, await respond(b, csrOwn, 'b-own', join(tmp, 'b-c.json')), outB));
    assert.equal(again.accepted, true);
    assert.equal(again.ldevid, outB);
    assert.equal((await showDevice(store, b)).activated, true);
    const [recorded] = await store.listLDevIDs(b);
    assert.ok(recorded, 'the LDevID is recorded');
    assert.equal(
      readCertificateInfo(decodePEM(readFileSync(outB, 'utf8'), ['CERTIFICATE'])).serialHex,
      recorded.certSerial,
      'issued under its recorded serial',
    );
    assert.notEqual(recorded.spkiSha256, (await store.listLDevIDs(a))[0]!.spkiSha256);
  });
});
