/** `custody devices provision` as a plain function of its flags: run by oclif and by the lean launcher alike. */
import { CustodyError } from '@custody/core/errors';
import { loadTemplate, loadTemplateCached, now, openStore, readPassphrase, storeCacheDir, templatesDir } from '@custody/app/context';
import { provision } from '@custody/app/provision';
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

/** What provisioning reports under --json: files as paths in `*File` fields. Station mode reports a count. */
export type ProvisionData =
  | {
      ca: string;
      attestedBy?: string;
      devices: Array<{
        serial: string;
        certSerial: string;
        csrFile?: string;
        generated: boolean;
        certificateFile?: string;
        keyFile?: string;
        attested: boolean;
      }>;
      /** Devices an earlier run already issued to the same key: skipped, not issued again. */
      alreadyIssued?: Array<{ serial: string; certSerial: string; csrFile?: string }>;
    }
  | { issued: number };

export interface CommandIO {
  json: boolean;
  log(line: string): void;
}

export async function runProvision(flags: ProvisionFlags, io: CommandIO): Promise<ProvisionData> {
  if ([flags.csr !== undefined, flags.generate !== undefined, flags.stdin].filter(Boolean).length !== 1)
    throw new CustodyError('ERR_USAGE_FLAGS', 'give exactly one of --csr, --generate or --stdin');
  if (flags.stdin) return runStationCommand(flags);
  const { template, remember } = await loadTemplateCached(templatesDir(flags.templates), flags.template, storeCacheDir(flags.store));
  const passphrase = readPassphrase(flags['passphrase-file']);
  const claims = flags.claims ? await readClaimsFile(flags.claims) : undefined;
  const store = await openStore(flags.store, flags.keys);
  let deviceKeyProtection;
  try {
    deviceKeyProtection = flags.generate
      ? makeDeviceKeyProtection({
          devicePassphrase: readDevicePassphrase(flags['device-passphrase-file']),
          caPassphrase: passphrase,
          noEncrypt: flags['no-encrypt'],
          insecure: flags.insecure,
        })
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
    io.log(
      `issued ${result.devices.length} device certificate(s) under "${result.ca}"${flags.out ? ` into ${flags.out}` : ''}${result.attestedBy ? `, birth attested by "${result.attestedBy}"` : ', without birth attestations (no party)'}`,
    );
    if (result.alreadyIssued)
      io.log(
        `${result.alreadyIssued.length} already issued to the same key by an earlier run, skipped: ${result.alreadyIssued
          .slice(0, 3)
          .map((d) => d.serial)
          .join(', ')}${result.alreadyIssued.length > 3 ? ', ...' : ''}`,
      );
    const generated = flags.generate !== undefined;
    return {
      ca: result.ca,
      ...(result.attestedBy ? { attestedBy: result.attestedBy } : {}),
      devices: result.devices.map((d) => ({
        serial: d.serial,
        certSerial: d.certSerial,
        ...(generated ? {} : { csrFile: d.source }),
        generated,
        ...(d.certificate ? { certificateFile: d.certificate } : {}),
        ...(d.key ? { keyFile: d.key } : {}),
        attested: d.attested,
      })),
      ...(result.alreadyIssued
        ? { alreadyIssued: result.alreadyIssued.map((d) => ({ serial: d.serial, certSerial: d.certSerial, ...(generated ? {} : { csrFile: d.source }) })) }
        : {}),
    };
  } finally {
    interrupts.dispose();
    progress.stop();
    await store.close();
  }
}
