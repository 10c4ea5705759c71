/** `devices activate`: verify the chain as it stands in this store, then record the activation attestation. */
import {
  CertificateFactory,
  CustodyError,
  decodePEM,
  derOrPEM,
  encodePEM,
  parseChallengeResponse,
  parseCSR,
  readCertificateInfo,
  toHex,
  verifyCSR,
  type CodeValidationClaim,
  type VerificationReport,
} from '@custody/core';
import type { LDevIDRecord } from '@custody/core/ports';
import type { Store } from '@custody/store';
import { bundleOf } from './bundles.js';
import { loadKey, loadTemplate, provider, readInputFile, templatesDir } from './context.js';
import { loadSigner } from './parties.js';
import { transferDevices, failureOf } from './handoff.js';
import { prepareVerification, type VerifyInputs } from './verify.js';
import { codeValidationClaim, type CodePolicyInputs } from './code-policy.js';
import { commitOutputs, discardOutputs, prepareOutput, writeOutput, type PreparedOutput } from './outputs.js';

export interface ActivateOptions extends Omit<VerifyInputs, 'expectedCustodian' | 'as'> {
  serial: string;
  party?: string | undefined;
  passphrase: string | undefined;
  ldevid?: { ca: string; csr: string; out: string };
  /** `--code-policy` (and `--code-cert`): end-user code validation the activation enables, in its signed claims. */
  codePolicy?: CodePolicyInputs | undefined;
}

export interface ActivationResult {
  serial: string;
  accepted: boolean;
  report: VerificationReport;
  seq?: number;
  ldevid?: string;
  /** The code policy the activation enabled: its name, and each identity's name, kind and certificate SHA-256. */
  codeValidation?: { policy: string; identities: Array<{ name: string; kind: string; sha256: string }> };
}

/**
 * Verifies the device's chain as this store holds it (in memory), with the activating party as the custodian it
 * must be handed to; then records the activation, extending exactly the verified chain, spending the challenge
 * whose response the verification accepted and recording the LDevID asked for, all in one write; then issues the
 * LDevID and writes it. Refuses (exit 1) when verification rejects.
 * @throws ERR_VERIFY_POSSESSION_REPLAY when the challenge was spent meanwhile; ERR_FORK when the chain moved;
 *   ERR_DUPLICATE_KEY naming the LDevID request when its key became another device's LDevID key meanwhile (a race
 *   lost: nothing recorded)
 */
export async function activateDevice(store: Store, o: ActivateOptions): Promise<ActivationResult> {
  const { party, signer } = await loadSigner(store, o.party, o.passphrase);
  // Everything the LDevID needs is read and checked first (CA, key, CSR): a device once activated cannot be again.
  const ldevid = o.ldevid ? await prepareLDevID(store, o.serial, o.ldevid, o.passphrase, o.at) : undefined;
  // So is the code policy, with the certificates it trusts: a malformed one records nothing.
  const codeValidation = o.codePolicy ? await codeValidationClaim(store, o.codePolicy) : undefined;
  const { verifier, context } = await prepareVerification(store, o);
  // Verification reads: the bundle checked here carries no CRL signed for it (a refused activation would use up
  // a CRL number of this store's CA); revocation evidence comes from --crl, as for `devices verify`.
  const bundle = await bundleOf(store, o.serial, o.passphrase, { now: o.at, crls: false });
  const report = await verifier.verify(bundle, { ...context, expectedCustodian: { certificate: signer.certificate } });
  if (!report.ok) return { serial: o.serial, accepted: false, report };
  const last = bundle.attestations.length;
  // The LDevID file is checked before the activation is recorded: a device once activated cannot be again.
  const ldevidOut = o.ldevid ? prepareOutput(o.ldevid.out) : undefined;
  try {
    if (ldevid) await checkLDevIDBinding(store, o, ldevid, report);
    return await activateChecked(store, o, { party: party.name, last, report, ldevid, ldevidOut, codeValidation });
  } finally {
    if (ldevidOut) discardOutputs([ldevidOut]);
  }
}

async function activateChecked(
  store: Store,
  o: ActivateOptions,
  v: {
    party: string;
    last: number;
    report: VerificationReport;
    ldevid: IssueLDevID | undefined;
    ldevidOut: PreparedOutput | undefined;
    codeValidation: CodeValidationClaim | undefined;
  },
): Promise<ActivationResult> {
  const { last, report } = v;
  const result = await transferDevices(store, {
    kind: 'activation',
    serials: [o.serial],
    party: v.party,
    passphrase: o.passphrase,
    now: o.at,
    extend: {
      length: last,
      ...(report.challenge !== undefined ? { challenge: report.challenge } : {}),
      ...(v.ldevid ? { ldevid: v.ldevid.record } : {}),
    },
    ...(v.codeValidation ? { claims: { codeValidation: v.codeValidation } } : {}),
  });
  const failure = failureOf(result);
  // Only the LDevID record refuses an activation for a key: another activation certified it since it was checked.
  if (failure?.code === 'ERR_DUPLICATE_KEY' && o.ldevid) {
    const file = o.ldevid.csr;
    throw new CustodyError('ERR_DUPLICATE_KEY', `${file}: the LDevID request's key was certified for another device meanwhile (${failure.message})`, { file });
  }
  if (failure) throw failure;
  const out: ActivationResult = { serial: o.serial, accepted: true, report, seq: result.results[0]!.seq! };
  if (v.codeValidation) out.codeValidation = codeValidationSummary(v.codeValidation);
  if (v.ldevid && v.ldevidOut) out.ldevid = await v.ldevid.issue(v.ldevidOut);
  return out;
}

function codeValidationSummary(c: CodeValidationClaim): NonNullable<ActivationResult['codeValidation']> {
  const ids = c.identities as Array<{ name: string; kind: string; sha256: string }>;
  return { policy: c.policy!, identities: ids.map(({ name, kind, sha256 }) => ({ name, kind, sha256 })) };
}

/**
 * An LDevID request read and checked, its record (recorded with the activation), and the function that issues it
 * into a prepared output file once recorded (returning its path).
 */
interface IssueLDevID {
  record: LDevIDRecord;
  issue(output: PreparedOutput): Promise<string>;
  /** The request's subject serialNumber, when it names one. */
  serial: string | undefined;
  spkiSha256: string;
  /** Hex SHA-256 of the request's DER: what the device's proof of possession must cover. */
  csrSha256: string;
}

/**
 * The LDevID request is bound to the device being activated: it names this device or no serial (custody puts the
 * device's in), its key is no other device's (IDevID or LDevID), and the proof of possession the verification just accepted was
 * signed together with this request's hash (`agent respond --ldevid-csr`).
 * @throws ERR_CSR_SERIAL, ERR_DUPLICATE_KEY, ERR_LDEVID_UNBOUND, naming the request file
 */
async function checkLDevIDBinding(store: Store, o: ActivateOptions, l: IssueLDevID, report: VerificationReport): Promise<void> {
  const file = o.ldevid!.csr;
  if (l.serial !== undefined && l.serial !== o.serial) {
    throw new CustodyError('ERR_CSR_SERIAL', `${file}: the LDevID request names device ${l.serial}, not ${o.serial}`, { file });
  }
  const device = await store.getDevice(o.serial);
  if (device?.spkiSha256 !== l.spkiSha256 && (await store.findConflicts([{ serial: '', spkiSha256: l.spkiSha256 }])).some((c) => c.kind === 'key')) {
    throw new CustodyError('ERR_DUPLICATE_KEY', `${file}: the LDevID request's key is certified for another device`, { file });
  }
  // The same check against LDevIDs issued before (a device may renew its own over the same key).
  const holder = await store.ldevidKeyHolder(l.spkiSha256);
  if (holder !== undefined && holder !== o.serial) {
    throw new CustodyError('ERR_DUPLICATE_KEY', `${file}: the LDevID request's key is certified for device ${holder}'s LDevID`, { file });
  }
  if (o.response === undefined || report.challenge === undefined) {
    throw new CustodyError(
      'ERR_LDEVID_UNBOUND',
      `${file}: an LDevID needs the device's proof of possession signed with its request: --response from \`custody agent respond --ldevid-csr\``,
      { file },
    );
  }
  const signed = parseChallengeResponse(new Uint8Array(readInputFile(o.response, 'challenge'))).response.ldevidCsrSha256;
  if (signed !== l.csrSha256) {
    const why = signed === undefined ? 'covers no LDevID request' : 'covers another LDevID request';
    throw new CustodyError(
      'ERR_LDEVID_UNBOUND',
      `${file}: the device's proof of possession (${o.response}) ${why}: answer the challenge with \`custody agent respond --ldevid-csr ${file}\``,
      { file },
    );
  }
}

/**
 * Reads and checks what a locally significant device identity needs (the customer's CA and its key, the CSR the
 * device made, the template), and returns the function that issues it once the activation is recorded.
 * @throws ERR_USAGE_UNKNOWN_CA, ERR_KEY_PASSPHRASE, ERR_INPUT_*, ERR_CSR_* naming the CSR file
 */
async function prepareLDevID(
  store: Store,
  serial: string,
  l: { ca: string; csr: string; out: string },
  passphrase: string | undefined,
  now: Date,
): Promise<IssueLDevID> {
  const ca = await store.getCA(l.ca);
  if (!ca) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${l.ca}" in ${store.location}`);
  let csr;
  let der: Uint8Array;
  try {
    der = derOrPEM(readInputFile(l.csr, 'csr'), ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
    csr = parseCSR(der);
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
  const key = toHex(await provider.digest('SHA-256', spki));
  // The certificate serial is chosen now: the LDevID is recorded under it with the activation, then issued.
  const certSerial = factory.nextSerial();
  return {
    record: { certSerial: toHex(certSerial), serial, spkiSha256: key, ca: l.ca, issuedAt: now.toISOString() },
    serial: csr.serialNumber,
    spkiSha256: key,
    csrSha256: toHex(await provider.digest('SHA-256', der)),
    issue: async (output) => {
      const cert = await factory.issue({ spki, vars: { serial }, serial: certSerial });
      writeOutput(output, encodePEM(cert.der, 'CERTIFICATE'));
      commitOutputs([output]);
      return l.out;
    },
  };
}
