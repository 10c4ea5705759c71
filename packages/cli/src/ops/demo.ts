/**
 * `custody demo`: the supply chain on fresh embedded stores, keeping every artifact so that other tools can
 * check it (DESIGN.md, "The demo's artifacts").
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError, PathValidator, decodePEM, type PathReport } from '@custody/core';
import { EmbeddedStore, type Store } from '@custody/store';
import { createCA, createParty } from './ca.js';
import { loadTemplate, provider, templatesDir } from './context.js';
import { provision } from './provision.js';

export const DEMO_PASSPHRASE = 'custody-demo-passphrase';
const MARKER = '.custody-demo';

export interface DemoOptions {
  out: string;
  devices: number;
  passphrase: string;
  now: Date;
  log: (line: string) => void;
}

export interface DemoReport {
  accepted: boolean;
  devices: Array<{ serial: string; accepted: boolean; path: PathReport['checks']; code?: string }>;
}

/** Prepares the output folder: new, empty, or a previous demo's (which is replaced). */
function prepareOut(out: string): void {
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!existsSync(join(out, MARKER))) throw new CustodyError('ERR_USAGE_OUT', `${out}: folder is not empty and holds no earlier demo; choose another --out`);
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, MARKER), 'made by custody demo; the next demo run replaces this folder\n');
}

async function newStore(out: string, org: string, now: Date): Promise<Store> {
  return EmbeddedStore.init(join(out, 'stores', org), now);
}

/** Runs the demo and writes its artifacts; returns the report (also written as report.json). */
export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  prepareOut(o.out);
  const tdir = templatesDir(undefined);
  const protection = { passphrase: o.passphrase };
  const common = { protection, passphrase: o.passphrase, now: o.now };
  for (const d of ['devices', 'parties', 'bundles', 'attestations']) mkdirSync(join(o.out, d), { recursive: true });

  o.log('1. Manufacturer (Acme Devices): root CA, issuing CA with pathLen 0, factory attestation key');
  const acme = await newStore(o.out, 'manufacturer', o.now);
  const root = await createCA(acme, { name: 'acme-root', template: await loadTemplate(tdir, 'root-ca'), organization: 'Acme Devices', ...common });
  const issuing = await createCA(acme, { name: 'acme-issuing', template: await loadTemplate(tdir, 'issuing-ca'), organization: 'Acme Devices', issuer: 'acme-root', ...common });
  const factory = await createParty(acme, { name: 'acme-factory', ca: 'acme-root', template: await loadTemplate(tdir, 'party'), organization: 'Acme Devices', ...common });
  writeFileSync(join(o.out, 'root.pem'), root.certificate);
  writeFileSync(join(o.out, 'issuing.pem'), issuing.certificate);
  writeFileSync(join(o.out, 'parties', `${factory.name}.pem`), factory.certificate);

  o.log(`2. Factory line: ${o.devices} devices, keys made on the line, IDevIDs issued`);
  const issued = await provision(acme, {
    ca: 'acme-issuing',
    template: await loadTemplate(tdir, 'idevid'),
    generate: o.devices,
    serialPattern: 'ACME-{seq:6}',
    start: 1,
    model: 'Sensor X1',
    lot: 'L2026-11',
    out: join(o.out, 'devices'),
    passphrase: o.passphrase,
    deviceKeyProtection: protection,
    now: o.now,
  });

  o.log('3. Verification of every device certificate path to the Acme root');
  const validator = new PathValidator({ trustAnchors: [decodePEM(root.certificate, ['CERTIFICATE'])], provider });
  const issuingDER = decodePEM(issuing.certificate, ['CERTIFICATE']);
  const report: DemoReport = { accepted: true, devices: [] };
  for (const d of issued.devices) {
    const device = await acme.getDevice(d.serial);
    if (!device) throw new CustodyError('ERR_STORE_MISSING_DEVICE', `device ${d.serial} is not in the store`);
    const r = await validator.validate({ leaf: device.certificate, intermediates: [issuingDER], at: o.now, requiredKeyUsage: ['digitalSignature'] });
    report.devices.push({ serial: d.serial, accepted: r.ok, path: r.checks, ...(r.code ? { code: r.code } : {}) });
    report.accepted &&= r.ok;
    o.log(`   ${d.serial}  ${r.ok ? 'accepted' : `REJECTED ${r.code}`}`);
  }
  await acme.close();
  writeFileSync(join(o.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  o.log(`Artifacts in ${o.out}: root.pem, issuing.pem, devices/, parties/, report.json`);
  o.log(`Check a device yourself: openssl verify -x509_strict -CAfile ${join(o.out, 'root.pem')} -untrusted ${join(o.out, 'issuing.pem')} ${issued.devices[0]?.certificate ?? ''}`);
  return report;
}
