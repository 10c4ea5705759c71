/**
 * ops/outputs.ts, the one output-file helper, and provisioning's use of it when a write fails after the store
 * recorded the devices (disk full, a file system that refuses): the error says what was recorded and where the
 * generated keys are, and those keys are kept.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '@custody/store';
import type { Store } from '@custody/store/registry';
import { createCA } from '../src/ca.js';
import { loadTemplate, templatesDir } from '../src/context.js';
import { commitOutputs, discardOutputs, prepareFolder, prepareOutput, writeOutput, writeOutputFile } from '../src/outputs.js';
import { provision } from '../src/provision.js';

const AT = new Date('2026-11-24T12:00:00Z');

describe('ops/outputs', function () {
  let tmp: string;
  beforeEach(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-outputs-'));
  });
  afterEach(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('writes under a temporary name and renames on commit, with the mode asked for', function () {
    const out = prepareOutput(join(tmp, 'k.pem'), { mode: 0o600 });
    assert.deepEqual(readdirSync(tmp), [out.temp.slice(tmp.length + 1)]);
    writeOutput(out, 'secret');
    assert.equal(existsSync(join(tmp, 'k.pem')), false);
    commitOutputs([out]);
    assert.deepEqual(readdirSync(tmp), ['k.pem']);
    assert.equal(readFileSync(join(tmp, 'k.pem'), 'utf8'), 'secret');
    assert.equal(statSync(join(tmp, 'k.pem')).mode & 0o777, 0o600);
  });

  it('refuses an existing file (ERR_IO_EXISTS) unless force, a folder in the way, a missing folder, a path below a file', function () {
    writeFileSync(join(tmp, 'f'), 'x');
    assert.throws(() => prepareOutput(join(tmp, 'f')), { code: 'ERR_IO_EXISTS' });
    assert.throws(() => prepareOutput(tmp, { force: true }), { code: 'ERR_IO_EXISTS' });
    assert.throws(() => prepareOutput(join(tmp, 'no', 'f')), { code: 'ERR_IO_NO_FOLDER' });
    assert.throws(() => prepareOutput(join(tmp, 'f', 'g')), { code: 'ERR_IO_NO_FOLDER' });
    assert.throws(() => prepareFolder(join(tmp, 'f', 'g', 'h')), { code: 'ERR_IO_NO_FOLDER' });
    writeOutputFile(join(tmp, 'f'), 'y', { force: true });
    assert.deepEqual(readdirSync(tmp), ['f']);
    assert.equal(readFileSync(join(tmp, 'f'), 'utf8'), 'y');
  });

  it('discard removes the temporary files and the folders it made, and nothing else', function () {
    mkdirSync(join(tmp, 'kept'));
    const folder = prepareFolder(join(tmp, 'kept', 'a', 'b'));
    assert.deepEqual(folder.created, [join(tmp, 'kept', 'a'), join(tmp, 'kept', 'a', 'b')]);
    const outs = [prepareOutput(join(tmp, 'kept', 'a', 'b', '1')), prepareOutput(join(tmp, 'kept', 'a', 'b', '2'))];
    discardOutputs(outs, folder);
    assert.deepEqual(readdirSync(tmp), ['kept']);
    assert.deepEqual(readdirSync(join(tmp, 'kept')), []);
  });
});

describe('regression: devices provision, a write that fails after the commit', function () {
  this.timeout(60_000);
  let tmp: string;
  let store: Store;
  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-provision-after-'));
    store = await EmbeddedStore.init(join(tmp, 'store'), AT);
    const dir = templatesDir(undefined);
    const protection = { unencrypted: true as const };
    await createCA(store, { name: 'root', template: await loadTemplate(dir, 'root-ca'), organization: 'Acme', protection, passphrase: undefined, now: AT });
    await createCA(store, {
      name: 'issuing',
      template: await loadTemplate(dir, 'issuing-ca'),
      organization: 'Acme',
      issuer: 'root',
      protection,
      passphrase: undefined,
      now: AT,
    });
  });
  after(async function () {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('names the recorded devices and keeps their keys, named, when the certificates cannot be written', async function () {
    const out = join(tmp, 'out');
    // The store records the devices, then the certificates' temporary files become folders: they cannot be written.
    const commit = store.commitDevices.bind(store);
    store.commitDevices = async (devices) => {
      await commit(devices);
      for (const f of readdirSync(out).filter((f) => /^\.AF\d+\.pem\./.test(f))) {
        rmSync(join(out, f));
        mkdirSync(join(out, f));
      }
    };
    const template = await loadTemplate(templatesDir(undefined), 'idevid');
    await assert.rejects(
      provision(store, { ca: 'issuing', template, generate: 2, serialPattern: 'AF{seq:3}', start: 1, out, passphrase: undefined, party: false, now: AT }),
      (e: { code: string; message: string }) => {
        assert.equal(e.code, 'ERR_IO_WRITE');
        assert.match(e.message, /the store has already recorded 2 devices \(AF001 to AF002\)/);
        // The keys of the recorded devices are their only copy: kept, and named.
        const keys = readdirSync(out).filter((f) => /^\.AF\d+\.key\.pem\./.test(f));
        assert.equal(keys.length, 2);
        assert.ok(
          e.message.includes(
            join(
              out,
              keys.find((k) => k.startsWith('.AF001'))!,
            ),
          ),
          e.message,
        );
        for (const k of keys) assert.match(readFileSync(join(out, k), 'utf8'), /BEGIN PRIVATE KEY/);
        return true;
      },
    );
    assert.equal((await store.getDevice('AF001'))?.serial, 'AF001');
  });
});
