/**
 * `custody demo`: the whole supply chain on fresh embedded stores, one per organisation, with only files
 * passing between them, keeping every artifact so that other tools can check it (DESIGN.md, "The demo's
 * artifacts"): factory -> integrator -> reseller -> customer verification with proof of possession ->
 * activation.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError, type Claims, type VerificationReport } from '@custody/core';
import { EmbeddedStore, type Store } from '@custody/store';
import { createCA, createParty } from './ca.js';
import { loadTemplate, templatesDir, REPO_ROOT } from './context.js';
import { provision } from './provision.js';
import { importParty } from './parties.js';
import { exportBundles, importBundles, readTrustAnchors } from './bundles.js';
import { transferDevices, failureOf, type TransferResult } from './handoff.js';
import { answerChallenge, writeChallenge } from './possession.js';
import { verifyBundles, type BundleVerdict } from './verify.js';
import { activateDevice } from './activate.js';
import { publishCRL } from './revocation.js';
import { initLog } from './log.js';
import { createFirmwareSigner, createRelease } from './firmware.js';
import { prepareDemoCode, runDemoCode, type DemoCodeReport } from './demo-code.js';

export const DEMO_PASSPHRASE = 'custody-demo-passphrase';
const MARKER = '.custody-demo';

export interface DemoOptions {
  out: string;
  devices: number;
  passphrase: string;
  now: Date;
  log: (line: string) => void;
  /** A verification report as lines (the CLI's rendering): the demo prints the first device's in full. */
  formatVerdict: (v: BundleVerdict) => string[];
}

export interface DemoReport {
  accepted: boolean;
  policy: string;
  devices: Array<{ serial: string; accepted: boolean; activated: boolean; code?: string; report: VerificationReport }>;
  /** The code-validation step (docs/code-validation.md). */
  codeValidation?: DemoCodeReport;
}

/** What the factory builds in: the birth claims. */
const BIRTH_CLAIMS = {
  deviceIdentity: { idevid: true, keyStorage: 'secure-element' },
  secureBoot: { enabled: true, method: 'HAB' },
  debugPorts: { state: 'locked' },
  storageEncryption: { enabled: true, algorithm: 'AES-256-XTS' },
  authentication: { enabled: true, method: 'mTLS' },
} as Claims;

/** The firmware Acme releases and Northwind installs. */
const FIRMWARE = { version: '2.4.1', file: 'gateway-2.4.1.bin', securityCounter: 3 };

/** What the integrator does: the product, the firmware release it installs (image and manifest hashes), the controls it enables. */
function integrationClaims(release: { imageSha256: string; hash: string }): Claims {
  return {
    product: { name: 'Northwind Infusion Gateway', model: 'NIG-2' },
    firmware: { version: FIRMWARE.version, sha256: release.imageSha256, release: release.hash },
    signedUpdates: { enabled: true, firmwareVersion: FIRMWARE.version },
    secureConnections: { enabled: true, protocols: ['TLS1.3'] },
  };
}

/** A stand-in image: 64 KiB of a repeating pattern, the same bytes every run. */
function demoImage(): Uint8Array {
  return new Uint8Array(64 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
}

function prepareOut(out: string): void {
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!existsSync(join(out, MARKER))) throw new CustodyError('ERR_USAGE_OUT', `${out}: folder is not empty and holds no earlier demo; choose another --out`);
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, MARKER), 'made by custody demo; the next demo run replaces this folder\n');
}

interface Org {
  store: Store;
  /** Verifier key file of the organisation's transparency log. */
  logPub: string;
  root: string;
  party: string;
  rootFile: string;
  partyFile: string;
}

/** One organisation: its own store, root CA and attestation party, certificates written for the others. */
async function organisation(o: DemoOptions, key: string, organization: string, prefix: string): Promise<Org> {
  const store = await EmbeddedStore.init(join(o.out, 'stores', key), o.now);
  const tdir = templatesDir(undefined);
  const common = { protection: { passphrase: o.passphrase }, passphrase: o.passphrase, now: o.now, organization };
  const root = await createCA(store, { name: `${prefix}-root`, template: await loadTemplate(tdir, 'root-ca'), ...common });
  const party = await createParty(store, { name: `${prefix}-${key}`, ca: root.name, template: await loadTemplate(tdir, 'party'), ...common });
  const rootFile = join(o.out, 'roots', `${key}.pem`);
  const partyFile = join(o.out, 'parties', `${party.name}.pem`);
  writeFileSync(rootFile, root.certificate);
  writeFileSync(partyFile, party.certificate);
  const log = await initLog(store, {
    origin: `${prefix}.example/custody-log`,
    protection: { passphrase: o.passphrase },
    now: o.now,
    pubOut: join(o.out, 'logs', `${key}.pub`),
  });
  return { store, root: root.name, party: party.name, rootFile, partyFile, logPub: log.pubFile };
}

/** Stops the demo at a transfer that failed for any device. */
function check(r: TransferResult): void {
  const failure = failureOf(r);
  if (failure) throw failure;
}

/** Runs the demo and writes its artifacts; returns the report (also written as report.json). */
export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  prepareOut(o.out);
  for (const d of ['devices', 'parties', 'roots', 'bundles', 'attestations', 'exchange', 'challenges', 'logs', 'firmware', 'releases'])
    mkdirSync(join(o.out, d), { recursive: true });
  const { log, passphrase, now } = o;

  log('1. Four organisations, each with its own store, root CA, attestation key and transparency log:');
  const acme = await organisation(o, 'manufacturer', 'Acme Devices', 'acme');
  const northwind = await organisation(o, 'integrator', 'Northwind Systems', 'northwind');
  const contoso = await organisation(o, 'reseller', 'Contoso Distribution', 'contoso');
  const fabrikam = await organisation(o, 'customer', 'Fabrikam Health', 'fabrikam');
  log('   Acme Devices (manufacturer), Northwind Systems (integrator), Contoso Distribution (reseller), Fabrikam Health (customer)');
  const issuing = await createCA(acme.store, {
    name: 'acme-issuing',
    template: await loadTemplate(templatesDir(undefined), 'issuing-ca'),
    organization: 'Acme Devices',
    issuer: acme.root,
    protection: { passphrase },
    passphrase,
    now,
  });
  writeFileSync(join(o.out, 'root.pem'), (await acme.store.getCA(acme.root))!.certificate);
  writeFileSync(join(o.out, 'issuing.pem'), issuing.certificate);
  // Each organisation learns the next one's attestation certificate, as a file.
  await importParty(acme.store, 'northwind', northwind.partyFile, now);
  await importParty(northwind.store, 'contoso', contoso.partyFile, now);
  await importParty(contoso.store, 'fabrikam', fabrikam.partyFile, now);

  log(`2. Acme's factory line makes ${o.devices} devices (keys on the line), issues IDevIDs under acme-issuing (pathLen 0)`);
  log('   and signs birth attestations naming Northwind as first custodian');
  const issued = await provision(acme.store, {
    ca: 'acme-issuing',
    template: await loadTemplate(templatesDir(undefined), 'idevid'),
    generate: o.devices,
    serialPattern: 'ACME-{seq:6}',
    start: 1,
    model: 'Sensor X1',
    lot: 'L2026-11',
    out: join(o.out, 'devices'),
    passphrase,
    deviceKeyProtection: { passphrase },
    party: acme.party,
    to: 'northwind',
    claims: BIRTH_CLAIMS,
    now,
  });
  const serials = issued.devices.map((d) => d.serial);
  log(`   Acme's firmware signer (codeSigning, under acme-issuing) releases firmware ${FIRMWARE.version} for Sensor X1,`);
  log(`   security counter ${FIRMWARE.securityCounter}: releases/${FIRMWARE.file}.release.der`);
  await createFirmwareSigner(acme.store, {
    name: 'acme-firmware',
    ca: 'acme-issuing',
    template: await loadTemplate(templatesDir(undefined), 'firmware-signer'),
    organization: 'Acme Devices',
    protection: { passphrase },
    passphrase,
    now,
  });
  const image = join(o.out, 'firmware', FIRMWARE.file);
  writeFileSync(image, demoImage());
  const { record: release } = await createRelease(acme.store, {
    file: image,
    imageName: FIRMWARE.file,
    version: FIRMWARE.version,
    securityCounter: FIRMWARE.securityCounter,
    models: ['Sensor X1'],
    expires: 'P1Y',
    signer: 'acme-firmware',
    out: join(o.out, 'releases', `${FIRMWARE.file}.release.der`),
    passphrase,
    now,
  });
  // Device keys go beside, not among, the certificates: devices/ holds exactly the IDevIDs (DESIGN.md).
  mkdirSync(join(o.out, 'device-keys'), { recursive: true });
  for (const d of issued.devices) if (d.key) renameSync(d.key, join(o.out, 'device-keys', `${d.serial}.key.pem`));
  await exportBundles(acme.store, serials, join(o.out, 'exchange', '1-acme-to-northwind'), passphrase, { now, folder: true });

  log('3. Northwind imports the bundles (checking every signature and link), builds the devices into its gateway,');
  log(`   installs Acme's firmware release ${FIRMWARE.version} (attesting the image and the manifest), and hands them to Contoso`);
  const trustAcme = [acme.rootFile];
  assertImported(
    await importBundles(
      northwind.store,
      serials.map((s) => join(o.out, 'exchange', '1-acme-to-northwind', `${s}.json`)),
      readTrustAnchors(trustAcme),
      now,
    ),
  );
  check(
    await transferDevices(northwind.store, {
      kind: 'handoff',
      serials,
      party: northwind.party,
      to: 'contoso',
      claims: integrationClaims(release),
      stage: 'integration',
      passphrase,
      now,
    }),
  );
  await exportBundles(northwind.store, serials, join(o.out, 'exchange', '2-northwind-to-contoso'), passphrase, { now, folder: true });

  log('4. Contoso imports them and sells them on to Fabrikam Health');
  assertImported(
    await importBundles(
      contoso.store,
      serials.map((s) => join(o.out, 'exchange', '2-northwind-to-contoso', `${s}.json`)),
      readTrustAnchors([acme.rootFile, northwind.rootFile]),
      now,
    ),
  );
  check(await transferDevices(contoso.store, { kind: 'handoff', serials, party: contoso.party, to: 'fabrikam', stage: 'resale', passphrase, now }));
  await exportBundles(contoso.store, serials, join(o.out, 'bundles'), passphrase, { now, folder: true });

  const roots = [acme, northwind, contoso, fabrikam];
  log("   Each organisation publishes the CRLs of its CAs; Acme's issuing CA CRL is crl.pem");
  const crls: string[] = [];
  for (const [org, ca] of [
    [acme, 'acme-issuing'],
    [acme, acme.root],
    [northwind, northwind.root],
    [contoso, contoso.root],
    [fabrikam, fabrikam.root],
  ] as const) {
    const file = ca === 'acme-issuing' ? join(o.out, 'crl.pem') : join(o.out, 'roots', `${ca}.crl.pem`);
    await publishCRL(org.store, { ca, out: file, nextUpdateDays: 7, pem: true, passphrase, now });
    crls.push(file);
  }
  const cas = [
    { name: 'manufacturer', file: acme.rootFile },
    { name: 'integrator', file: northwind.rootFile },
    { name: 'reseller', file: contoso.rootFile },
    { name: 'customer', file: fabrikam.rootFile },
  ];
  const workflow = join(REPO_ROOT, 'workflows', 'supply-chain.yaml');
  const policy = 'healthcare';
  log(`5. Fabrikam verifies each device before activation: certificate paths and CRLs, every signature and hash`);
  log(`   link, custodian continuity, log inclusion, the installed firmware against Acme's signed releases, the`);
  log(`   supply-chain workflow, the ${policy} policy, and proof of possession (a fresh challenge signed with the device key)`);
  assertImported(
    await importBundles(
      fabrikam.store,
      serials.map((s) => join(o.out, 'bundles', `${s}.json`)),
      readTrustAnchors(roots.map((r) => r.rootFile)),
      now,
    ),
  );
  const report: DemoReport = { accepted: true, policy, devices: [] };
  // Code validation: Fabrikam enables it when it activates the first device (docs/code-validation.md).
  const codePolicy = await prepareDemoCode(fabrikam.store, { out: o.out, passphrase, now, organization: 'Fabrikam Health' });
  for (const serial of serials) {
    const challenge = join(o.out, 'challenges', `${serial}.challenge.json`);
    const response = join(o.out, 'challenges', `${serial}.response.json`);
    await writeChallenge(fabrikam.store, { serial, out: challenge, ttlSeconds: 300, now });
    await answerChallenge({ key: join(o.out, 'device-keys', `${serial}.key.pem`), challenge, out: response, passphrase });
    // Activation verifies again with the response (consuming its nonce), then records the activation.
    // Fabrikam logged every attestation it imported: activation checks inclusion in its own log.
    const r = await activateDevice(fabrikam.store, {
      serial,
      party: fabrikam.party,
      passphrase,
      trust: [],
      cas,
      workflow,
      policy,
      crls,
      at: now,
      response,
      logKeys: [fabrikam.logPub],
      releases: join(o.out, 'releases'),
      ...(serial === serials[0] ? { codePolicy } : {}),
    });
    // The whole report for the first device, a line for each of the others.
    const lines = o.formatVerdict({ file: serial, report: r.report });
    for (const line of serial === serials[0] ? lines : lines.slice(0, 1)) log(`   ${line}`);
    if (serial === serials[0] && serials.length > 1) log(`   (the other devices: one line each; every check is in report.json)`);
    report.devices.push({ serial, accepted: r.accepted, activated: r.accepted, ...(r.report.code ? { code: r.report.code } : {}), report: r.report });
    report.accepted &&= r.accepted;
  }
  log('6. Activated devices: the chain is closed; the final chain of each device is in its store and in attestations/');
  for (const serial of serials) {
    const device = await fabrikam.store.getDevice(serial);
    mkdirSync(join(o.out, 'attestations', serial), { recursive: true });
    device?.attestations.forEach((a, i) => writeFileSync(join(o.out, 'attestations', serial, `${i}.der`), a));
  }
  log(`7. Code validation: Fabrikam's activation of ${serials[0]} enabled its code policy (code/policy.yaml)`);
  const code = await runDemoCode(fabrikam.store, {
    out: o.out,
    passphrase,
    now,
    serial: serials[0]!,
    manufacturer: acme.rootFile,
    trust: roots.map((r) => r.rootFile),
    log,
  });
  report.codeValidation = code;
  report.accepted &&= code.accepted && code.editedRefusedWith !== undefined;
  // Re-verify the shipped bundle of the first device the way a person would, from files only.
  // The bundle as received carries Contoso's log proofs; possession was proven above, so the file-only check
  // uses the retail policy (healthcare would also ask for a fresh challenge).
  const [first] = await verifyBundles(undefined, {
    bundles: [join(o.out, 'bundles', `${serials[0]}.json`)],
    trust: [],
    cas,
    workflow,
    policy: 'retail',
    crls,
    at: now,
    logKeys: [contoso.logPub],
    releases: join(o.out, 'releases'),
  });
  writeFileSync(join(o.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  for (const org of roots) await org.store.close();
  log(
    `Artifacts in ${o.out}: root.pem, issuing.pem, crl.pem, devices/, device-keys/, parties/, roots/, bundles/, attestations/, challenges/, firmware/, releases/, code/, report.json`,
  );
  log(`Check them with openssl:`);
  log(
    `   openssl verify -x509_strict -CAfile ${join(o.out, 'root.pem')} -untrusted ${join(o.out, 'issuing.pem')} ${join(o.out, 'devices', `${serials[0]}.pem`)}`,
  );
  log(
    `   openssl verify -x509_strict -crl_check -CAfile ${join(o.out, 'root.pem')} -untrusted ${join(o.out, 'issuing.pem')} -CRLfile ${join(o.out, 'crl.pem')} ${join(o.out, 'devices', `${serials[0]}.pem`)}`,
  );
  log(`   openssl cms -verify -inform DER -binary -purpose any -in ${join(o.out, 'attestations', serials[0]!, '0.der')} -CAfile ${acme.rootFile}`);
  log(
    `The bundle Fabrikam received for ${serials[0]} re-verifies from files alone (retail policy, Contoso's log key): ${first?.report.ok ? 'ACCEPTED' : `REJECTED ${first?.report.code}`}`,
  );
  if (!first?.report.ok) report.accepted = false;
  return report;
}

function assertImported(results: Array<{ outcome: string; file: string; code?: string; reason?: string }>): void {
  const bad = results.find((r) => r.outcome === 'refused');
  if (bad) throw new CustodyError(bad.code ?? 'ERR_VERIFY', `${bad.file}: ${bad.reason}`);
}
