/**
 * `agent enroll`: the device takes its owner's code policy from the activation of its own verified chain. The
 * bundle is checked by the one verifier (the manufacturer's root and the anchors given, as `devices verify`
 * would), the IDevID in it must be the device's own, the chain must end in an activation that enables code
 * validation; only then is the enrollment written, replacing an older one of the same chain (a resale).
 */
import { CustodyError, parseBundle, type Bundle, type VerificationReport } from '@custody/core';
import { checkManufacturerAnchor, decideEnrollment, type EnrollmentDecision } from '@custody/core/code-policy';
import { readTrustAnchors } from './bundles.js';
import { provider, readCertificateFile, readInputFile } from './context.js';
import { enrollmentFile, readEnrollment, removeEnrollment, writeEnrollment } from './agent-state.js';
import { prepareVerification, type VerifyInputs } from './verify.js';

export interface EnrollOptions extends Omit<VerifyInputs, 'response' | 'as' | 'expectedCustodian' | 'expectedCertificate'> {
  bundle: string;
  /** The device's own IDevID certificate file. */
  idevid: string;
  /** The manufacturer's root certificate file(s): the IDevID and the birth attestation's signer must chain to one. */
  manufacturer: string[];
  state: string;
}

export interface EnrollResult {
  device: string;
  outcome: EnrollmentDecision['outcome'];
  /** The enrolled policy's name; absent when `withdrawn`. */
  policy?: string;
  activation: { seq: number; sha256?: string; time: string; owner: string };
  identities?: Array<{ name: string; kind: string; sha256: string }>;
  scopes?: Array<{ name: string; level: string }>;
  stateFile: string;
  report: VerificationReport;
}

/**
 * Verifies the bundle and enrolls the device in the code policy of its chain's activation.
 * @throws ERR_ENROLL_UNVERIFIED, ERR_ENROLL_DEVICE, ERR_ENROLL_MANUFACTURER, ERR_ENROLL_NOT_ACTIVATED, ERR_ENROLL_NO_POLICY, ERR_ENROLL_CLAIM,
 *   ERR_ENROLL_STALE (each naming the bundle file; nothing written); ERR_AGENT_STATE for a malformed state; input errors
 */
export async function enrollDevice(o: EnrollOptions): Promise<EnrollResult> {
  const idevid = readCertificateFile(o.idevid).der;
  const previous = readEnrollment(o.state);
  const { verifier, context } = await prepareVerification(undefined, o);
  let bundle: Bundle | undefined;
  let report: VerificationReport;
  const text = readInputFile(o.bundle, 'bundle').toString('utf8');
  try {
    bundle = parseBundle(text);
    report = await verifier.verify(bundle, context);
  } catch {
    // A bundle that does not parse: the verifier's report says why, as for `devices verify`.
    report = await verifier.verify(text, context);
  }
  let decision: EnrollmentDecision;
  try {
    if (!bundle) throw new CustodyError('ERR_ENROLL_UNVERIFIED', `the bundle does not parse (${report.code}); nothing enrolled`);
    decision = decideEnrollment(bundle, report, idevid, previous?.record);
    await checkManufacturerAnchor(bundle, readTrustAnchors(o.manufacturer), provider, o.at);
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(o.bundle) : e;
  }
  if (decision.outcome === 'withdrawn') {
    const last = bundle!.attestations.at(-1)!.statement;
    return {
      device: last.subject[0].name,
      outcome: 'withdrawn',
      activation: { seq: last.predicate.seq, time: last.predicate.time, owner: last.predicate.to },
      stateFile: removeEnrollment(o.state),
      report,
    };
  }
  const { record, policy } = decision;
  const stateFile = decision.outcome === 'same' ? enrollmentFile(o.state) : writeEnrollment(o.state, record);
  return {
    device: record.device,
    outcome: decision.outcome,
    policy: policy.policy,
    activation: { ...record.activation },
    identities: policy.identities.map((i) => ({ name: i.name, kind: i.kind, sha256: i.sha256 })),
    scopes: policy.scopes.map((s) => ({ name: s.name, level: s.level })),
    stateFile,
    report,
  };
}
