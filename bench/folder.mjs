/**
 * Provisioning with its outputs written to a folder, as `devices provision --out DIR` runs it (issue 20: the
 * provisioning figure was measured with no output at all):
 *
 *   provision.folderDevicesPerSec           --csr DIR --out DIR: CSR files read and checked, IDevIDs and birth
 *                                           attestations issued and stored, a certificate file written a device
 *   provision.generatedFolderDevicesPerSec  --generate N --out DIR: key pairs made on the line, each encrypted under
 *                                           the device passphrase (one derivation a batch) and flushed before the
 *                                           commit, then the certificates
 *
 * Both go through app `provision()`, the function the CLI calls, so that the bench writes what the CLI writes.
 */
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedStore } from '@custody/store';
import { provision } from '@custody/app/provision';
import { loadTemplate, templatesDir } from '@custody/app/context';
import { makeCSRs, nativeDevicesPerSec, PASS, setupStore } from './figures.mjs';

/** Seconds of `fn` per device, as devices a second. */
async function perSec(n, fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** A store and a folder of `n` CSR files under `tmp`, and the `provision()` run that the CLI would make of them. */
export async function folderBatch(n, tmp) {
  const template = await loadTemplate(templatesDir(undefined), 'idevid');
  const now = new Date();
  const common = { ca: 'issuing', template, serialPattern: 'G{seq:7}', start: 1, model: 'B1', passphrase: PASS, party: 'factory', now };
  const csrDir = join(tmp, 'folder-csrs');
  mkdirSync(csrDir);
  for (const { source, csr } of await makeCSRs(n, 'F')) writeFileSync(join(csrDir, `${source}.csr`), csr);
  const store = await setupStore(await EmbeddedStore.init(join(tmp, 'folder-store'), now));
  return { store, common, run: () => provision(store, { ...common, csrPath: csrDir, out: join(tmp, 'folder-out') }) };
}

/**
 * node:crypto's device work (figures.mjs) plus the least a device's file costs in a folder beside the batch's: a
 * file made, written and renamed into place. On this kind of machine the file system's share swings with what
 * the machine did before (ext4 without a journal allocates a new inode slowly for a while after many deletions),
 * so this limit is measured right before the figure it frames.
 */
function nativeFolderDevicesPerSec(n, dir) {
  mkdirSync(dir);
  const pem = Buffer.alloc(800, 0x41);
  return nativeDevicesPerSec(n, (i) => {
    const temp = join(dir, `.${i}.tmp`);
    const fd = openSync(temp, 'w');
    writeSync(fd, pem);
    closeSync(fd);
    renameSync(temp, join(dir, `${i}.pem`));
  });
}

/** The folder figures for batches of `n` devices, in fresh stores under `tmp`. */
export async function folderFigures(n, tmp) {
  const fromCSRs = await folderBatch(n, tmp);
  const folderDevicePerSec = nativeFolderDevicesPerSec(n, join(tmp, 'native-folder'));
  const folderDevicesPerSec = await perSec(n, fromCSRs.run);
  await fromCSRs.store.close();

  const generated = await setupStore(await EmbeddedStore.init(join(tmp, 'generated-store'), fromCSRs.common.now));
  const generatedFolderDevicesPerSec = await perSec(n, () =>
    provision(generated, { ...fromCSRs.common, generate: n, out: join(tmp, 'generated-out'), deviceKeyProtection: { passphrase: 'bench device passphrase' } }),
  );
  await generated.close();
  return {
    'native.folderDevicePerSec': folderDevicePerSec,
    'provision.folderDevicesPerSec': folderDevicesPerSec,
    'provision.generatedFolderDevicesPerSec': generatedFolderDevicesPerSec,
  };
}
