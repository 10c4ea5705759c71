/** `devices activate`: verify the chain as it stands in this store, then record the activation attestation. */
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateFactory, CustodyError, decodePEM, derOrPEM, encodeBundle, encodePEM, parseCSR, readCertificateInfo, verifyCSR, type VerificationReport } from '@custody/core';
import type { Store } from '@custody/store';
import { bundleOf } from './bundles.js';
import { loadKey, loadTemplate, provider, readInputFile, templatesDir } from './context.js';
import { loadSigner } from './parties.js';
import { transferDevices, failureOf } from './handoff.js';
import { verifyBundles, type VerifyCommandOptions } from './verify.js';

export interface ActivateOptions extends Omit<VerifyCommandOptions, 'bundles' | 'expectedCustodian'> {
  serial: string;
  party?: string;
  passphrase: string | undefined;
  ldevid?: { ca: string; csr: string; out: string };
}

export interface ActivationResult {
  serial: string;
  accepted: boolean;
  report: VerificationReport;
  seq?: number;
  ldevid?: string;
}

/**
 * Verifies, then activates. Refuses (exit 1) when verification rejects; only the device's last holder may
 * activate (its key must be the chain's custodian, which verification checks).
 */
export async function activateDevice(store: Store, o: ActivateOptions): Promise<ActivationResult> {
  const { party, signer } = await loadSigner(store, o.party, o.passphrase);
  const tmp = mkdtempSync(join(tmpdir(), 'custody-activate-'));
  let report: VerificationReport;
  try {
    const file = join(tmp, `${o.serial}.json`);
    await writeFile(file, encodeBundle(await bundleOf(store, o.serial, o.passphrase)));
    report = (await verifyBundles(store, { ...o, bundles: [file], expectedCustodian: signer.spkiSha256 }))[0]!.report;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!report.ok) return { serial: o.serial, accepted: false, report };
  const result = await transferDevices(store, { kind: 'activation', serials: [o.serial], party: party.name, passphrase: o.passphrase, now: o.at });
  const failure = failureOf(result);
  if (failure) throw failure;
  const out: ActivationResult = { serial: o.serial, accepted: true, report, seq: result.results[0]!.seq! };
  if (o.ldevid) out.ldevid = await issueLDevID(store, o.serial, o.ldevid, o.passphrase, o.at);
  return out;
}

/** Issues a locally significant device identity under one of the customer's CAs, from a CSR the device made. */
async function issueLDevID(store: Store, serial: string, l: { ca: string; csr: string; out: string }, passphrase: string | undefined, now: Date): Promise<string> {
  const ca = await store.getCA(l.ca);
  if (!ca) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${l.ca}" in ${store.location}`);
  let csr;
  try {
    csr = parseCSR(derOrPEM(readInputFile(l.csr, 'csr'), ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']));
    await verifyCSR(csr, provider);
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(l.csr) : e;
  }
  const info = readCertificateInfo(decodePEM(ca.certificate, ['CERTIFICATE']));
  const factory = await CertificateFactory.create({
    template: await loadTemplate(templatesDir(undefined), 'ldevid'),
    issuer: { certificate: info, key: loadKey(store, ca.key, passphrase) },
    provider,
    notBefore: now,
    vars: { organization: info.subjectAttributes.find(([k]) => k === 'O')?.[1], model: (await store.getDevice(serial))?.model ?? 'device' },
  });
  const cert = await factory.issue({ spki: csr.spki, vars: { serial } });
  writeFileSync(l.out, encodePEM(cert.der, 'CERTIFICATE'), { flag: 'wx' });
  return l.out;
}
