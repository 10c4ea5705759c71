/**
 * ops/outputs.ts, the one output-file helper, and provisioning's use of it when a write fails after the store
 * recorded the devices (disk full, a file system that refuses): the error says what was recorded and where the
 * generated keys are, and those keys are kept.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePEM } from '@custody/core/x509';
import { EmbeddedStore } from '@custody/store';
import type { Store } from '@custody/store/registry';
import { createCA } from '../src/ca.js';
import { loadTemplate, templatesDir } from '../src/context.js';
import { commitOutputs, discardOutputs, prepareFolder, prepareOutput, prepareOutputsIn, writeOutput, writeOutputFile } from '../src/outputs.js';
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

  it('checks a batch of names: files in the way unless force, folders always; in an empty folder none is in the way', function () {
    writeFileSync(join(tmp, 'a.pem'), 'x');
    mkdirSync(join(tmp, 'b.pem'));
    mkdirSync(join(tmp, 'sub'));
    writeFileSync(join(tmp, 'sub', 'c.pem'), 'x');
    assert.throws(() => prepareOutputsIn(tmp, ['z.pem', 'a.pem']), { code: 'ERR_IO_EXISTS', file: join(tmp, 'a.pem') });
    assert.throws(() => prepareOutputsIn(tmp, ['b.pem'], { force: true }), { code: 'ERR_IO_EXISTS', message: /is a folder/ });
    assert.throws(() => prepareOutputsIn(tmp, [join('sub', 'c.pem')]), { code: 'ERR_IO_EXISTS' });
    // A name with a folder in it is looked up even when the folder named is empty.
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    assert.throws(() => prepareOutputsIn(empty, [join('..', 'a.pem')]), { code: 'ERR_IO_EXISTS' });
    assert.equal(prepareOutputsIn(empty, ['a.pem', 'b.pem']).length, 2);
    const outs = prepareOutputsIn(tmp, ['a.pem', 'y.pem', 'zz.pem'], { force: true });
    // One temporary file is made (the longest name), each name gets its own, and they share the run's tag.
    const temps = readdirSync(tmp).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(temps, [outs[2]!.temp.slice(tmp.length + 1)]);
    assert.equal(new Set(outs.map((o) => o.temp)).size, 3);
    assert.equal(new Set(outs.map((o) => o.temp.split('.').at(-2))).size, 1);
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

  it('names the recorded devices and keeps their keys, named, when the files cannot be moved into place', async function () {
    const out = join(tmp, 'out');
    // The store records the devices, then a folder takes the first key's place: no file can be moved there.
    const commit = store.commitDevices.bind(store);
    store.commitDevices = async (devices) => {
      await commit(devices);
      mkdirSync(join(out, 'AF001.key.pem', 'in-the-way'), { recursive: true });
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
    store.commitDevices = commit;
  });

  // The certificates are written while the batch signs, before their chunk is recorded: a chunk whose file cannot
  // be written is not recorded; the chunks before it are, with their files, and the error says so.
  for (const [how, threads] of [
    ['on the batch thread', undefined],
    ['on a writing thread', '1'],
  ] as const) {
    it(`records no chunk whose certificate cannot be written (${how}), says what the chunks before it recorded, and a re-run completes`, async function () {
      const out = join(tmp, `before-${threads ?? 0}`);
      const template = await loadTemplate(templatesDir(undefined), 'idevid');
      const pattern = `B${threads ?? 0}{seq:3}`;
      const first = `B${threads ?? 0}001`;
      const second = `B${threads ?? 0}002`;
      let blocked = '';
      // Once the outputs are prepared (the first key file), a folder takes the second certificate's temporary name.
      const onProgress = (phase: string) => {
        if (phase !== 'key-files' || blocked) return;
        const reserved = readdirSync(out).find((f) => f.startsWith(`.${first}.pem.`))!;
        blocked = reserved.replace(first, second);
        mkdirSync(join(out, blocked));
      };
      // The writing thread's script is built JavaScript: that case runs the built module.
      const provisionHere = threads ? (await import('@custody/app/provision')).provision : provision;
      const run = (progress?: typeof onProgress) =>
        provisionHere(store, {
          ca: 'issuing',
          template,
          generate: 2,
          serialPattern: pattern,
          start: 1,
          out,
          passphrase: undefined,
          party: false,
          now: AT,
          chunkSize: 1,
          ...(progress ? { onProgress: progress } : {}),
        });
      const saved = process.env.CUSTODY_THREADS;
      if (threads) process.env.CUSTODY_THREADS = threads;
      let again: Awaited<ReturnType<typeof provision>> | undefined;
      try {
        await assert.rejects(run(onProgress), (e: { code: string; message: string; file?: string }) => {
          assert.equal(e.code, 'ERR_IO_WRITE');
          assert.equal(e.file, join(out, `${second}.pem`));
          assert.match(e.message, new RegExp(`1 of 2 recorded \\(${first}\\), with their files; run the same command again`));
          return true;
        });
        assert.equal((await store.getDevice(first))?.serial, first);
        assert.equal(await store.getDevice(second), undefined);
        // The recorded device's files are in place; nothing of the other is left but the folder in the way.
        assert.deepEqual(readdirSync(out).sort(), [blocked, `${first}.key.pem`, `${first}.pem`].sort());
        assert.match(readFileSync(join(out, `${first}.pem`), 'utf8'), /BEGIN CERTIFICATE/);
        rmSync(join(out, blocked), { recursive: true });
        // The re-run goes the same way (the writing thread too, in that case) and completes the batch.
        again = await run();
      } finally {
        if (saved === undefined) delete process.env.CUSTODY_THREADS;
        else process.env.CUSTODY_THREADS = saved;
      }
      assert.deepEqual(
        again!.alreadyIssued?.map((d) => d.serial),
        [first],
      );
      assert.deepEqual(
        again!.devices.map((d) => d.serial),
        [second],
      );
      const recorded = await store.getDevice(second);
      assert.equal(readFileSync(join(out, `${second}.pem`), 'utf8'), encodePEM(recorded!.certificate, 'CERTIFICATE'));
      assert.deepEqual(readdirSync(out).sort(), [`${first}.key.pem`, `${first}.pem`, `${second}.key.pem`, `${second}.pem`]);
    });
  }
});
