/** `custody devices provision` as a plain function of its flags: run by oclif and by the lean launcher alike. */
import { CustodyError } from '@custody/core/errors';
import { loadTemplate, loadTemplateCached, now, openStore, readPassphrase, storeCacheDir, templatesDir } from '@custody/app/context';
import { provision, type ProvisionResult } from '@custody/app/provision';
import { startProgress } from './progress.js';
import { readClaimsFile } from '@custody/app/parties';
import { provisioningSetup } from '@custody/app/provision';
import { runStation } from '@custody/app/station';
import { watchInterrupts } from '@custody/app/interrupt';
import { deviceKeyProtection as makeDeviceKeyProtection, readDevicePassphrase } from '@custody/app/device-keys';

/** Station mode: set up once, then serve stdin until it closes. */
async function runStationCommand(flags: ProvisionFlags): Promise<{ issued: number }> {
  const template = await loadTemplate(templatesDir(flags.templates), flags.template, storeCacheDir(flags.store));
  const passphrase = readPassphrase(flags['passphrase-file']);
  const claims = flags.claims ? await readClaimsFile(flags.claims) : undefined;
  const store = await openStore(flags.store);
  try {
    const { at } = await provisioningSetup(store, { ca: flags.ca, template, model: flags.model, lot: flags.lot, passphrase, party: flags['no-attest'] ? false : flags.party, to: flags.to, claims, now: now() });
    return { issued: await runStation(store, at, process.stdin, process.stdout) };
  } finally {
    await store.close();
  }
}

export interface ProvisionFlags {
  store: string;
  ca: string;
  csr?: string;
  generate?: number;
  'serial-pattern': string;
  start: number;
  model?: string;
  lot?: string;
  template: string;
  out?: string;
  force: boolean;
  templates?: string;
  'passphrase-file'?: string;
  'no-encrypt': boolean;
  insecure: boolean;
  'device-passphrase-file'?: string;
  party?: string;
  to?: string;
  claims?: string;
  'no-attest': boolean;
  stdin: boolean;
}

export interface CommandIO {
  json: boolean;
  log(line: string): void;
}

export async function runProvision(flags: ProvisionFlags, io: CommandIO): Promise<ProvisionResult | { issued: number }> {
  if ([flags.csr !== undefined, flags.generate !== undefined, flags.stdin].filter(Boolean).length !== 1) throw new CustodyError('ERR_USAGE_FLAGS', 'give exactly one of --csr, --generate or --stdin');
  if (flags.stdin) return runStationCommand(flags);
  const { template, remember } = await loadTemplateCached(templatesDir(flags.templates), flags.template, storeCacheDir(flags.store));
  const passphrase = readPassphrase(flags['passphrase-file']);
  const claims = flags.claims ? await readClaimsFile(flags.claims) : undefined;
  const store = await openStore(flags.store);
  let deviceKeyProtection;
  try {
    deviceKeyProtection = flags.generate
      ? makeDeviceKeyProtection({ devicePassphrase: readDevicePassphrase(flags['device-passphrase-file']), caPassphrase: passphrase, noEncrypt: flags['no-encrypt'], insecure: flags.insecure })
      : undefined;
  } catch (e) {
    await store.close();
    throw e;
  }
  const progress = startProgress(!io.json, 'provisioning');
  const interrupts = watchInterrupts();
  try {
    const result = await provision(store, {
      signal: interrupts.signal,
      ca: flags.ca,
      template,
      csrPath: flags.csr,
      generate: flags.generate,
      serialPattern: flags['serial-pattern'],
      start: flags.start,
      model: flags.model,
      lot: flags.lot,
      out: flags.out,
      force: flags.force,
      passphrase,
      deviceKeyProtection,
      party: flags['no-attest'] ? false : flags.party,
      to: flags.to,
      claims,
      now: now(),
      onProgress: (done, n) => progress.update(done, n),
    });
    progress.stop();
    remember();
    io.log(`issued ${result.devices.length} device certificate(s) under "${result.ca}"${flags.out ? ` into ${flags.out}` : ''}${result.attestedBy ? `, birth attested by "${result.attestedBy}"` : ', without birth attestations (no party)'}`);
    if (result.alreadyIssued) io.log(`${result.alreadyIssued.length} already issued to the same key by an earlier run, skipped: ${result.alreadyIssued.slice(0, 3).map((d) => d.serial).join(', ')}${result.alreadyIssued.length > 3 ? ', ...' : ''}`);
    return result;
  } finally {
    interrupts.dispose();
    progress.stop();
    await store.close();
  }
}
