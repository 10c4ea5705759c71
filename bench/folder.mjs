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
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedStore } from '@custody/store';
import { provision } from '@custody/app/provision';
import { loadTemplate, templatesDir } from '@custody/app/context';
import { makeCSRs, PASS, setupStore } from './figures.mjs';

/** Seconds of `fn` per device, as devices a second. */
async function perSec(n, fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** The folder figures for batches of `n` devices, in fresh stores under `tmp`. */
export async function folderFigures(n, tmp) {
  const template = await loadTemplate(templatesDir(undefined), 'idevid');
  const now = new Date();
  const common = { ca: 'issuing', template, serialPattern: 'G{seq:7}', start: 1, model: 'B1', passphrase: PASS, party: 'factory', now };

  const csrDir = join(tmp, 'folder-csrs');
  mkdirSync(csrDir);
  for (const { source, csr } of await makeCSRs(n, 'F')) writeFileSync(join(csrDir, `${source}.csr`), csr);
  const fromCSRs = await setupStore(await EmbeddedStore.init(join(tmp, 'folder-store'), now));
  const folderDevicesPerSec = await perSec(n, () => provision(fromCSRs, { ...common, csrPath: csrDir, out: join(tmp, 'folder-out') }));
  await fromCSRs.close();

  const generated = await setupStore(await EmbeddedStore.init(join(tmp, 'generated-store'), now));
  const generatedFolderDevicesPerSec = await perSec(n, () =>
    provision(generated, { ...common, generate: n, out: join(tmp, 'generated-out'), deviceKeyProtection: { passphrase: 'bench device passphrase' } }),
  );
  await generated.close();
  return { 'provision.folderDevicesPerSec': folderDevicesPerSec, 'provision.generatedFolderDevicesPerSec': generatedFolderDevicesPerSec };
}
