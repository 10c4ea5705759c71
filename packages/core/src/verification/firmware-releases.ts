/**
 * Firmware bound to custody: each attestation that installs firmware must name a signed release manifest
 * (`firmware.release`, the SHA-256 of the manifest's DER) that the verifier was given and verified, for the
 * device's model, whose subject is the attested image, that no trusted withdrawal list withdraws, unexpired when
 * the firmware was installed; and the releases' security counters never decrease along the chain. The manifests
 * and withdrawal lists are verified by the caller (`ReleaseSet`); this module only judges the chain against them.
 * docs/verification.md ("Installed firmware") describes the rules.
 */
import type { Claims } from '../attestation/claims.js';
import type { FirmwareEvidence } from '../workflow/evaluate-policy.js';
import { fail, pass, type VerificationCheck } from './report.js';

/** A release manifest whose CMS signature and signer path (codeSigning EKU, to a trust anchor) were verified. */
export interface TrustedRelease {
  /** Hex SHA-256 of the manifest's DER: what an attestation's `firmware.release` names. */
  readonly manifestSha256: string;
  /** Hex SHA-256 of the image (the in-toto subject's digest). */
  readonly imageSha256: string;
  readonly version: string;
  readonly securityCounter: number;
  /** Hardware models the release is for. */
  readonly models: readonly string[];
  /** When it was signed (its `predicate.time`): no attestation can have installed it earlier. */
  readonly time: Date;
  /** After this, a device must not install the release. */
  readonly expires: Date;
  /** The signer's subject, for reports. */
  readonly signer: string;
  /** Hex SHA-256 of the trust anchor (DER) the signer's path ends at. */
  readonly anchorSha256: string;
}

/** A manifest that was supplied but does not stand: why, with the code of its failure. */
export interface RefusedRelease {
  readonly manifestSha256: string;
  readonly code: string;
  readonly reason: string;
}

/** The releases a verification checks the chain against: verified manifests, withdrawals and refused inputs. */
export interface ReleaseSet {
  /** Verified and refused manifests, by the hex SHA-256 of their DER. */
  readonly releases: ReadonlyMap<string, TrustedRelease | RefusedRelease>;
  /** Withdrawn manifests (hex SHA-256 of their DER) from verified withdrawal lists, to who withdrew them and when. */
  readonly withdrawn: ReadonlyMap<string, string>;
  /** Failures of supplied withdrawal lists: a list that does not verify fails the check rather than be ignored. */
  readonly problems: readonly VerificationCheck[];
}

/** One attestation of the chain as the firmware check needs it. */
export interface FirmwareStep {
  /** Position in the bundle. */
  readonly n: number;
  readonly claims: Claims;
  /** When it was signed: the release must not have expired by then. */
  readonly time: Date;
}

/** The checks of a chain against its releases, and the evidence they give the policy. */
export interface FirmwareOutcome {
  readonly checks: readonly VerificationCheck[];
  readonly evidence: FirmwareEvidence;
}

function isVerified(r: TrustedRelease | RefusedRelease): r is TrustedRelease {
  return 'imageSha256' in r;
}

/** How far an installer's clock may run behind the release signer's: two parties' clocks, as a log checkpoint's. */
export const RELEASE_CLOCK_SKEW_MS = 5 * 60_000;

const short = (hex: string): string => `${hex.slice(0, 16)}...`;

/**
 * Checks every attestation that installs firmware against `set`, for a device of `model` (its signed
 * `production.model`; undefined when the chain names none) whose IDevID chains to the trust anchor `deviceAnchor`
 * (hex SHA-256 of its DER; undefined when the device's path did not validate, which fails on its own): a release
 * counts only when its signer chains to that same anchor, the device manufacturer's, not another party's root. One check per installing attestation, named
 * `attestation <n>: firmware`. Codes: ERR_VERIFY_FIRMWARE_UNSIGNED (no release named),
 * ERR_VERIFY_FIRMWARE_RELEASE_MISSING, ERR_VERIFY_FIRMWARE_RELEASE_INVALID (its reason names the manifest's own code),
 * ERR_VERIFY_FIRMWARE_SIGNER, ERR_VERIFY_FIRMWARE_IMAGE, ERR_VERIFY_FIRMWARE_MODEL, ERR_VERIFY_FIRMWARE_WITHDRAWN, ERR_VERIFY_FIRMWARE_EXPIRED,
 * ERR_VERIFY_FIRMWARE_BACKDATED, ERR_VERIFY_FIRMWARE_ROLLBACK; plus the set's own problems (ERR_VERIFY_FIRMWARE_WITHDRAWAL).
 */
export function checkFirmwareReleases(steps: readonly FirmwareStep[], model: string | undefined, set: ReleaseSet, deviceAnchor?: string): FirmwareOutcome {
  const checks: VerificationCheck[] = [...set.problems];
  let installs = 0;
  let allOk = set.problems.length === 0;
  let counter: number | undefined;
  // The highest counter installed so far and where: a later install below it is a rollback.
  let high: { counter: number; n: number } | undefined;
  for (const step of steps) {
    const fw = step.claims.firmware;
    if (fw === undefined) continue;
    installs++;
    const name = `attestation ${step.n}: firmware`;
    const refuse = (code: string, reason: string): void => {
      checks.push(fail(name, code, reason, step.n));
      allOk = false;
      counter = undefined;
    };
    if (fw.release === undefined) {
      refuse('ERR_VERIFY_FIRMWARE_UNSIGNED', `firmware ${fw.version} (image ${short(fw.sha256)}) names no signed release (firmware.release)`);
      continue;
    }
    const r = set.releases.get(fw.release);
    if (r === undefined) {
      refuse('ERR_VERIFY_FIRMWARE_RELEASE_MISSING', `release ${short(fw.release)} of firmware ${fw.version} is not among the releases supplied`);
      continue;
    }
    if (!isVerified(r)) {
      refuse('ERR_VERIFY_FIRMWARE_RELEASE_INVALID', `release ${short(fw.release)} of firmware ${fw.version} does not stand (${r.code}): ${r.reason}`);
      continue;
    }
    if (deviceAnchor !== undefined && r.anchorSha256 !== deviceAnchor) {
      refuse(
        'ERR_VERIFY_FIRMWARE_SIGNER',
        `release ${r.version} is signed by "${r.signer}" under another root than the device's manufacturer's: it cannot vouch for this device's firmware`,
      );
      continue;
    }
    if (r.imageSha256 !== fw.sha256) {
      refuse('ERR_VERIFY_FIRMWARE_IMAGE', `the attested image ${short(fw.sha256)} is not release ${r.version}'s image ${short(r.imageSha256)}`);
      continue;
    }
    if (model === undefined || !r.models.includes(model)) {
      refuse(
        'ERR_VERIFY_FIRMWARE_MODEL',
        model === undefined
          ? `release ${r.version} is for ${r.models.join(', ')}, but the chain names no device model (production.model)`
          : `release ${r.version} is for ${r.models.join(', ')}, not for this device's model ${model}`,
      );
      continue;
    }
    const by = set.withdrawn.get(fw.release);
    if (by !== undefined) {
      refuse('ERR_VERIFY_FIRMWARE_WITHDRAWN', `release ${r.version} (${short(fw.release)}) was withdrawn by ${by}`);
      continue;
    }
    if (step.time.getTime() > r.expires.getTime()) {
      refuse('ERR_VERIFY_FIRMWARE_EXPIRED', `release ${r.version} expired ${r.expires.toISOString()}, before it was installed (${step.time.toISOString()})`);
      continue;
    }
    // The attestation names the manifest's hash, so the manifest existed before it was signed: an earlier time is a
    // false one, the way an installer would pass a release off as installed before it expired.
    if (step.time.getTime() + RELEASE_CLOCK_SKEW_MS < r.time.getTime()) {
      refuse(
        'ERR_VERIFY_FIRMWARE_BACKDATED',
        `attestation ${step.n} claims to have installed release ${r.version} at ${step.time.toISOString()}, before it was signed (${r.time.toISOString()})`,
      );
      continue;
    }
    if (high !== undefined && r.securityCounter < high.counter) {
      refuse(
        'ERR_VERIFY_FIRMWARE_ROLLBACK',
        `release ${r.version} has security counter ${r.securityCounter}, below the ${high.counter} attestation ${high.n} installed`,
      );
      continue;
    }
    high = { counter: r.securityCounter, n: step.n };
    counter = r.securityCounter;
    checks.push(pass(name, `release ${r.version} (counter ${r.securityCounter}) signed by "${r.signer}" for ${model}`, step.n));
  }
  const evidence: FirmwareEvidence = counter === undefined ? { ok: allOk, installs } : { ok: allOk, installs, counter };
  return { checks, evidence };
}
