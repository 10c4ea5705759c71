/** `devices activate`: verify the chain as it stands in this store, then record the activation attestation. */
import { CertificateFactory, CustodyError, decodePEM, derOrPEM, encodePEM, parseCSR, readCertificateInfo, verifyCSR, type VerificationReport } from '@custody/core';
import type { Store } from '@custody/store';
import { bundleOf } from './bundles.js';
import { loadKey, loadTemplate, provider, readInputFile, templatesDir } from './context.js';
import { loadSigner } from './parties.js';
import { transferDevices, failureOf } from './handoff.js';
import { prepareVerification, type VerifyInputs } from './verify.js';
import { commitOutputs, discardOutputs, prepareOutput, writeOutput, type PreparedOutput } from './outputs.js';

export interface ActivateOptions extends Omit<VerifyInputs, 'expectedCustodian' | 'as'> {
  serial: string;
  party?: string | undefined;
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
 * Verifies the device's chain as this store holds it (in memory), with the activating party as the custodian it
 * must be handed to; then records the activation, extending exactly the verified chain and spending the
 * challenge whose response the verification accepted, both in one write. Refuses (exit 1) when verification
 * rejects.
 * @throws ERR_VERIFY_POSSESSION_REPLAY when the challenge was spent meanwhile; ERR_FORK when the chain moved
 */
export async function activateDevice(store: Store, o: ActivateOptions): Promise<ActivationResult> {
  const { party, signer } = await loadSigner(store, o.party, o.passphrase);
  // Everything the LDevID needs is read and checked first (CA, key, CSR): a device once activated cannot be again.
  const ldevid = o.ldevid ? await prepareLDevID(store, o.serial, o.ldevid, o.passphrase, o.at) : undefined;
  const { verifier, context } = await prepareVerification(store, o);
  // At the verification time: the CRLs of this store's CAs it carries must not postdate it.
  const bundle = await bundleOf(store, o.serial, o.passphrase, { now: o.at });
  const report = await verifier.verify(bundle, { ...context, expectedCustodian: { certificate: signer.certificate } });
  if (!report.ok) return { serial: o.serial, accepted: false, report };
  const last = bundle.attestations.length;
  // The LDevID file is checked before the activation is recorded: a device once activated cannot be again.
  const ldevidOut = o.ldevid ? prepareOutput(o.ldevid.out) : undefined;
  try {
    return await activateChecked(store, o, { party: party.name, last, report, ldevid, ldevidOut });
  } finally {
    if (ldevidOut) discardOutputs([ldevidOut]);
  }
}

async function activateChecked(store: Store, o: ActivateOptions, v: { party: string; last: number; report: VerificationReport; ldevid: IssueLDevID | undefined; ldevidOut: PreparedOutput | undefined }): Promise<ActivationResult> {
  const { last, report } = v;
  const result = await transferDevices(store, {
    kind: 'activation',
    serials: [o.serial],
    party: v.party,
    passphrase: o.passphrase,
    now: o.at,
    extend: { length: last, ...(report.challenge !== undefined ? { challenge: report.challenge } : {}) },
  });
  const failure = failureOf(result);
  if (failure) throw failure;
  const out: ActivationResult = { serial: o.serial, accepted: true, report, seq: result.results[0]!.seq! };
  if (v.ldevid && v.ldevidOut) out.ldevid = await v.ldevid(v.ldevidOut);
  return out;
}

/** Issues the prepared LDevID into a prepared output file and returns its path. */
type IssueLDevID = (output: PreparedOutput) => Promise<string>;

/**
 * Reads and checks what a locally significant device identity needs (the customer's CA and its key, the CSR the
 * device made, the template), and returns the function that issues it once the activation is recorded.
 * @throws ERR_USAGE_UNKNOWN_CA, ERR_KEY_PASSPHRASE, ERR_INPUT_*, ERR_CSR_* naming the CSR file
 */
async function prepareLDevID(store: Store, serial: string, l: { ca: string; csr: string; out: string }, passphrase: string | undefined, now: Date): Promise<IssueLDevID> {
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
  const spki = csr.spki;
  return async (output) => {
    const cert = await factory.issue({ spki, vars: { serial } });
    writeOutput(output, encodePEM(cert.der, 'CERTIFICATE'));
    commitOutputs([output]);
    return l.out;
  };
}
