/**
 * The device's rules for an update, pure: given a verified release manifest, the image's digest and length, the
 * device's model, the time, its update state and (optionally) a verified withdrawal list, accept or say why not.
 * The order is the order of the checks a device reports: image length, image hash, model, expiry (freeze),
 * withdrawal list presence (once the device has taken one) and currency, rollback, withdrawal. Each refusal has its own code.
 */
import { CustodyError } from '../errors.js';
import { formatStatementTime } from '../attestation/statement.js';
import type { VerifiedRelease } from './release-manifest.js';
import type { UpdateState } from './update-state.js';
import type { VerifiedWithdrawals } from './withdrawals.js';

/** What the device measured of the image it was given. */
export interface ImageFacts {
  /** Lower-case hex SHA-256 of the image bytes. */
  readonly sha256: string;
  readonly length: number;
}

/** Everything one update decision reads. */
export interface UpdateInput {
  readonly release: VerifiedRelease;
  readonly image: ImageFacts;
  /** The device's hardware model. */
  readonly model: string;
  readonly now: Date;
  readonly state: UpdateState;
  readonly withdrawals?: VerifiedWithdrawals;
}

/** The accepted update: the state to write (the counter never below the old one). */
export interface UpdateDecision {
  readonly previousCounter: number;
  readonly state: UpdateState;
}

/**
 * Refuses an image whose length is not the release's: cheap, so a device checks it before hashing.
 * @throws ERR_RELEASE_IMAGE_LENGTH
 */
export function checkImageLength(release: VerifiedRelease, length: number): void {
  const want = release.statement.predicate.length;
  if (length !== want)
    throw new CustodyError('ERR_RELEASE_IMAGE_LENGTH', `image is ${length} bytes; release ${release.statement.predicate.version} is ${want}`);
}

/**
 * Applies the device rules to a verified release; returns the state to write when every rule holds.
 * @throws ERR_RELEASE_IMAGE_LENGTH, ERR_RELEASE_IMAGE_HASH, ERR_RELEASE_MODEL, ERR_RELEASE_EXPIRED,
 *   ERR_WITHDRAWALS_MISSING, ERR_WITHDRAWALS_STALE, ERR_WITHDRAWALS_ROLLBACK, ERR_RELEASE_ROLLBACK, ERR_RELEASE_WITHDRAWN
 */
export function checkUpdate(input: UpdateInput): UpdateDecision {
  const { release, image, model, now, state, withdrawals } = input;
  const p = release.statement.predicate;
  const name = `release ${p.version}`;
  checkImageLength(release, image.length);
  if (image.sha256 !== release.statement.subject[0].digest.sha256)
    throw new CustodyError('ERR_RELEASE_IMAGE_HASH', `image SHA-256 is ${image.sha256}; ${name} signs ${release.statement.subject[0].digest.sha256}`);
  if (!p.models.includes(model)) throw new CustodyError('ERR_RELEASE_MODEL', `${name} is for ${p.models.join(', ')}, not for model ${JSON.stringify(model)}`);
  const nowText = formatStatementTime(now);
  // Freeze attacks: an old, validly signed manifest replayed after its time.
  if (nowText >= p.expires) throw new CustodyError('ERR_RELEASE_EXPIRED', `${name} expired at ${p.expires} (now ${nowText})`);
  let withdrawalsNumber = state.withdrawalsNumber;
  if (withdrawals) {
    const l = withdrawals.list;
    if (nowText >= l.nextUpdate)
      throw new CustodyError('ERR_WITHDRAWALS_STALE', `withdrawal list ${l.number} is stale: its nextUpdate was ${l.nextUpdate} (now ${nowText})`);
    if (l.number < state.withdrawalsNumber)
      throw new CustodyError(
        'ERR_WITHDRAWALS_ROLLBACK',
        `withdrawal list ${l.number} is older than list ${state.withdrawalsNumber}, which this device already accepted`,
      );
    withdrawalsNumber = l.number;
  } else if (state.withdrawalsNumber > 0) {
    // Once a device has taken a list it needs a current one: otherwise leaving the list out (or a stale copy
    // of it) would hide every withdrawal, and the staleness rule would guard nothing.
    throw new CustodyError(
      'ERR_WITHDRAWALS_MISSING',
      `no withdrawal list given; this device accepted withdrawal list ${state.withdrawalsNumber} and takes no release without a current one`,
    );
  }
  if (p.securityCounter < state.counter)
    throw new CustodyError('ERR_RELEASE_ROLLBACK', `${name} has security counter ${p.securityCounter}, below this device's ${state.counter}`);
  if (withdrawals?.releases.has(release.hash))
    throw new CustodyError('ERR_RELEASE_WITHDRAWN', `${name} (${release.hash}) is withdrawn by withdrawal list ${withdrawals.list.number}`);
  return { previousCounter: state.counter, state: { counter: p.securityCounter, release: release.envelope.der, withdrawalsNumber } };
}
