/** `custody devices provision --stdin`: station mode, set up once, then one answer a line until stdin closes. */
import { loadTemplate, now, openStore, readPassphrase, storeCacheDir, templatesDir } from '@custody/app/context';
import { readClaimsFile } from '@custody/app/parties';
import { provisioningSetup } from '@custody/app/provision';
import { runStation } from '@custody/app/station';
import type { ProvisionFlags } from './provision-command.js';

/** Station mode: set up once, then serve stdin until it closes. */
export async function runStationCommand(flags: ProvisionFlags): Promise<{ issued: number }> {
  const template = await loadTemplate(templatesDir(flags.templates), flags.template, storeCacheDir(flags.store));
  const passphrase = readPassphrase(flags['passphrase-file']);
  const claims = flags.claims ? await readClaimsFile(flags.claims) : undefined;
  const store = await openStore(flags.store, flags.keys);
  try {
    const { at } = await provisioningSetup(store, {
      ca: flags.ca,
      template,
      model: flags.model,
      lot: flags.lot,
      passphrase,
      party: flags['no-attest'] ? false : flags.party,
      to: flags.to,
      claims,
      now: now(),
    });
    return { issued: await runStation(store, at, process.stdin, process.stdout) };
  } finally {
    await store.close();
  }
}
