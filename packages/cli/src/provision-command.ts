/** `custody devices provision` as a plain function of its flags: run by oclif and by the lean launcher alike. */
import { CustodyError } from '@custody/core/errors';
import { loadTemplateCached, now, openStore, readPassphrase, storeCacheDir, templatesDir } from '@custody/app/context';
import { provision } from '@custody/app/provision';
import { progressMode, startProgress } from './progress.js';
import { readClaimsFile } from '@custody/app/parties';
import { provisionData, provisionLines, type ProvisionData } from './render/provision.js';
import { runStationCommand } from './provision-station.js';
import { watchInterrupts } from '@custody/app/interrupt';
import { deviceKeyProtection as makeDeviceKeyProtection, readDevicePassphrase } from '@custody/app/device-keys';

export interface ProvisionFlags {
  store: string;
  keys?: string;
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

/** Runs one provisioning batch (or station mode) from the command's flags; prints through `io`. */
export async function runProvision(flags: ProvisionFlags, io: CommandIO): Promise<ProvisionData> {
  if ([flags.csr !== undefined, flags.generate !== undefined, flags.stdin].filter(Boolean).length !== 1)
    throw new CustodyError('ERR_USAGE_FLAGS', 'give exactly one of --csr, --generate or --stdin');
  if (flags.stdin) return runStationCommand(flags);
  const { template, remember } = await loadTemplateCached(templatesDir(flags.templates), flags.template, storeCacheDir(flags.store));
  const passphrase = readPassphrase(flags['passphrase-file']);
  const claims = flags.claims ? await readClaimsFile(flags.claims) : undefined;
  const deviceKeyProtection = flags.generate
    ? makeDeviceKeyProtection({
        devicePassphrase: readDevicePassphrase(flags['device-passphrase-file']),
        caPassphrase: passphrase,
        noEncrypt: flags['no-encrypt'],
        insecure: flags.insecure,
      })
    : undefined;
  const store = await openStore(flags.store, flags.keys);
  const progress = startProgress(progressMode(io.json), 'provisioning');
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
      onProgress: (phase, done, n) => progress.update(phase, done, n),
    });
    progress.stop();
    remember();
    for (const line of provisionLines(result, flags.out)) io.log(line);
    return provisionData(result, flags.generate !== undefined);
  } finally {
    interrupts.dispose();
    progress.stop();
    await store.close();
  }
}
