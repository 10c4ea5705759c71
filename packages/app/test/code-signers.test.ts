/**
 * Code signers are recorded like parties (role `code-signer`) and stay out of everything that signs or receives
 * devices: a store whose only other keyed record is one party still picks that party without `--party`, and a
 * code signer is neither an attestation signer nor, the other way round, can a party sign code.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '@custody/store';
import { createCA, createCodeSigner, createParty } from '../src/ca.js';
import { signCodeFile } from '../src/code-sign.js';
import { loadTemplate, templatesDir } from '../src/context.js';
import { loadSigner } from '../src/parties.js';

const PASS = 'code signers test passphrase';

describe('code signers beside parties', function () {
  this.timeout(60_000);
  let tmp: string;
  let store: EmbeddedStore;

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-code-signers-'));
    store = await EmbeddedStore.init(join(tmp, 'store'), new Date());
    const tdir = templatesDir(undefined);
    const c = { organization: 'Fabrikam', protection: { passphrase: PASS }, passphrase: PASS, now: new Date() };
    await createCA(store, { name: 'root', template: await loadTemplate(tdir, 'root-ca'), ...c });
    await createParty(store, { name: 'customer', ca: 'root', template: await loadTemplate(tdir, 'party'), ...c });
    await createCodeSigner(store, { name: 'ops', ca: 'root', template: await loadTemplate(tdir, 'code-signer'), ...c });
    await assert.rejects(createCodeSigner(store, { name: 'ops2', ca: 'root', template: await loadTemplate(tdir, 'party'), ...c }), {
      code: 'ERR_TEMPLATE_KIND',
    });
  });
  after(async function () {
    await store?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the only party is still picked without a name (the code signer does not make it ambiguous), and a code signer is no party', async function () {
    assert.equal((await store.getParty('ops'))?.role, 'code-signer');
    const { party } = await loadSigner(store, undefined, PASS);
    assert.equal(party.name, 'customer');
    await assert.rejects(loadSigner(store, 'ops', PASS), { code: 'ERR_USAGE_PARTY' });
  });

  it('a party cannot sign code, and a failed signing writes nothing', async function () {
    const file = join(tmp, 'run.sh');
    writeFileSync(file, 'echo run\n');
    await assert.rejects(signCodeFile(store, { file, signer: 'customer', format: 'cms', type: 'script', passphrase: PASS, now: new Date() }), {
      code: 'ERR_USAGE_SIGNER',
    });
    await assert.rejects(signCodeFile(store, { file, signer: 'ops', format: 'cms', type: 'script', passphrase: 'wrong', now: new Date() }), {
      code: 'ERR_KEY_PASSPHRASE',
    });
    await assert.rejects(signCodeFile(store, { file, signer: 'ops', format: 'cms', type: 'script', version: '1 beta', passphrase: PASS, now: new Date() }), {
      code: 'ERR_USAGE_FLAGS',
      message: /--version "1 beta"/,
    });
    assert.equal(existsSync(`${file}.sig`), false);
    const r = await signCodeFile(store, { file, signer: 'ops', format: 'cms', type: 'config', version: '2', passphrase: PASS, now: new Date() });
    assert.equal(r.signatureFile, `${file}.sig`);
    assert.equal(existsSync(`${file}.sig`), true);
  });
});
