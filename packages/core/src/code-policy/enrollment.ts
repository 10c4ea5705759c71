/**
 * A device's enrollment: what the verified activation of its own chain enabled, kept on the device. Taken only
 * from the activation attestation that ends a chain the one verifier accepted, for this device's IDevID; a
 * later activation of the same chain (a resale) replaces it, an older or unrelated one is refused.
 */
import type { CodeValidationClaim } from '../attestation/claims.js';
import { statementKind } from '../attestation/statement.js';
import type { Bundle } from '../bundle/bundle-model.js';
import { rebuildAttestation } from '../bundle/rebuild-attestation.js';
import { CustodyError } from '../errors.js';
import { toHex } from '../util/bytes.js';
import { sha256 } from '../util/sha256.js';
import { parseStrictJSON } from '../util/strict-json.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { PathValidator } from '../validation/path-validator.js';
import type { VerificationReport } from '../verification/report.js';
import { parseCodeValidationClaim, type EnrolledCodePolicy } from './code-validation-claim.js';

/** The state file's format version. */
export const ENROLLMENT_VERSION = 1;

/** What a device keeps of its enrollment (`agent enroll --state DIR`, `enrollment.json`). */
export interface EnrollmentRecord {
  readonly version: typeof ENROLLMENT_VERSION;
  /** `<manufacturer>/<serial>` as the statements name the device. */
  readonly device: string;
  /** Hex SHA-256 of the device's IDevID DER. */
  readonly idevidSha256: string;
  /** The activation the enrollment comes from. */
  readonly activation: {
    readonly seq: number;
    /** Hex SHA-256 of the activation attestation's DER: what a later attestation names as `prev`. */
    readonly sha256: string;
    readonly time: string;
    /** Hex SHA-256 of the activating owner's attestation key (SPKI). */
    readonly owner: string;
  };
  /** The activation's claim as it was signed. */
  readonly codeValidation: CodeValidationClaim;
}

/**
 * What `decideEnrollment` concludes: the record to keep and the policy read, and whether it is `new`, `same` (this
 * activation is enrolled already) or `replaced` (a later activation of the chain: a resale); or `withdrawn`: a
 * later activation that enables no code validation, so the enrollment it follows must go.
 */
export type EnrollmentDecision =
  { readonly outcome: 'new' | 'same' | 'replaced'; readonly record: EnrollmentRecord; readonly policy: EnrolledCodePolicy } | { readonly outcome: 'withdrawn' };

/**
 * The anchor of the whole chain is the device's own: its IDevID and the signer of its birth attestation must both
 * chain to the manufacturer's root the device trusts. The verifier accepted the chain against every anchor given
 * (the later custodians' too); without this, an anchor slipped in beside the manufacturer's could vouch for a
 * forged birth of this very IDevID and everything after it.
 * @throws ERR_ENROLL_MANUFACTURER naming which of the two does not reach the manufacturer's root
 */
export async function checkManufacturerAnchor(bundle: Bundle, roots: readonly Uint8Array[], provider: CryptoProvider, at: Date): Promise<void> {
  if (roots.length === 0) throw new CustodyError('ERR_ENROLL_MANUFACTURER', "no manufacturer's root to enroll against");
  const validator = new PathValidator({ trustAnchors: roots, provider });
  const intermediates = bundle.certificates.slice(1);
  const device = await validator.validate({ leaf: bundle.certificates[0]!, intermediates, at });
  if (!device.ok) throw new CustodyError('ERR_ENROLL_MANUFACTURER', `the bundle's IDevID does not chain to the manufacturer's root (${device.code})`);
  const birth = bundle.attestations[0];
  const signer = birth ? bundle.certificates[birth.signer] : undefined;
  const party = signer ? await validator.validate({ leaf: signer, intermediates, at: new Date(birth!.statement.predicate.time) }) : undefined;
  if (!party?.ok)
    throw new CustodyError(
      'ERR_ENROLL_MANUFACTURER',
      `the birth attestation is not signed by a party under the manufacturer's root (${party?.code ?? 'no signer'})`,
    );
}

/**
 * Decides on an enrollment from a bundle the one verifier has just reported on.
 * @throws ERR_ENROLL_UNVERIFIED when the verifier rejected the bundle (its code is named); ERR_ENROLL_DEVICE
 *   when the bundle is another device's, or the state is; ERR_ENROLL_NOT_ACTIVATED when the chain does not end in
 *   an activation; ERR_ENROLL_NO_POLICY when the activation enabled no code validation (and follows no enrollment); ERR_ENROLL_CLAIM for a
 *   malformed claim; ERR_ENROLL_STALE when the activation is not the enrolled one nor a later one of its chain
 */
export function decideEnrollment(bundle: Bundle, report: VerificationReport, idevid: Uint8Array, previous: EnrollmentRecord | undefined): EnrollmentDecision {
  if (!report.ok) {
    const why = report.checks.find((c) => !c.ok);
    throw new CustodyError(
      'ERR_ENROLL_UNVERIFIED',
      `the bundle's chain is not verified (${report.code}${why?.reason ? `: ${why.reason}` : ''}); nothing enrolled`,
    );
  }
  const idevidSha256 = toHex(sha256(idevid));
  const bundleDevice = toHex(sha256(bundle.certificates[0]!));
  if (bundleDevice !== idevidSha256) throw new CustodyError('ERR_ENROLL_DEVICE', "the bundle is another device's chain: its IDevID is not this device's");
  if (previous && previous.idevidSha256 !== idevidSha256)
    throw new CustodyError('ERR_ENROLL_DEVICE', `the enrolled state is device ${previous.device}'s, not this device's`);
  const last = bundle.attestations.length - 1;
  const entry = bundle.attestations[last]!;
  if (statementKind(entry.statement) !== 'activation')
    throw new CustodyError(
      'ERR_ENROLL_NOT_ACTIVATED',
      `the chain ends in attestation ${last}, a ${statementKind(entry.statement)}: no activation to enroll from`,
    );
  const claim = entry.statement.predicate.claims.codeValidation;
  const p = entry.statement.predicate;
  if (claim === undefined) {
    // A new owner who enables no code validation still ends the previous owner's: the old enrollment goes.
    if (previous && p.seq > previous.activation.seq && follows(bundle, previous)) return { outcome: 'withdrawn' };
    throw new CustodyError('ERR_ENROLL_NO_POLICY', `the activation (attestation ${last}) enables no code validation`);
  }
  const policy = parseCodeValidationClaim(claim);
  const record: EnrollmentRecord = {
    version: ENROLLMENT_VERSION,
    device: entry.statement.subject[0].name,
    idevidSha256,
    activation: { seq: p.seq, sha256: toHex(sha256(rebuildAttestation(entry, bundle.certificates))), time: p.time, owner: p.to },
    codeValidation: claim,
  };
  if (!previous) return { record, outcome: 'new', policy };
  const at = previous.activation.seq;
  if (at === p.seq && previous.activation.sha256 === record.activation.sha256) return { record: previous, outcome: 'same', policy };
  if (!follows(bundle, previous)) {
    throw new CustodyError(
      'ERR_ENROLL_STALE',
      `the bundle's activation (attestation ${p.seq}) does not follow the enrolled one (attestation ${at} of ${previous.activation.time}): an older or another chain`,
    );
  }
  return { record, outcome: 'replaced', policy };
}

/** True when the bundle's chain holds the enrolled activation before its last attestation. */
function follows(bundle: Bundle, previous: EnrollmentRecord): boolean {
  const at = previous.activation.seq;
  const enrolled = at < bundle.attestations.length - 1 ? bundle.attestations[at] : undefined;
  return enrolled !== undefined && toHex(sha256(rebuildAttestation(enrolled, bundle.certificates))) === previous.activation.sha256;
}

/**
 * Reads an enrollment state file strictly (the device's own file, still checked: it is read on every check).
 * @throws ERR_AGENT_STATE naming what is wrong
 */
export function parseEnrollmentRecord(text: string): { record: EnrollmentRecord; policy: EnrolledCodePolicy } {
  const bad = (what: string) => new CustodyError('ERR_AGENT_STATE', `enrollment state: ${what}`);
  const v = parseStrictJSON(text, { code: 'ERR_AGENT_STATE', what: 'enrollment state' }) as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || v['version'] !== ENROLLMENT_VERSION) throw bad(`not a version ${ENROLLMENT_VERSION} enrollment`);
  const a = v['activation'] as Record<string, unknown> | undefined;
  const hex = (x: unknown) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);
  if (typeof v['device'] !== 'string' || !hex(v['idevidSha256'])) throw bad('device or idevidSha256 missing');
  if (typeof a !== 'object' || a === null || !Number.isSafeInteger(a['seq']) || !hex(a['sha256']) || typeof a['time'] !== 'string' || !hex(a['owner']))
    throw bad('activation missing or malformed');
  let policy: EnrolledCodePolicy;
  try {
    policy = parseCodeValidationClaim(v['codeValidation']);
  } catch (e) {
    throw bad((e as Error).message);
  }
  return { record: v as unknown as EnrollmentRecord, policy };
}
