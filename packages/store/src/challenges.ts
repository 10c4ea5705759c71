/**
 * Verifier challenges of the embedded store: one file per nonce under `challenges/`, renamed to `.used` when
 * consumed, so that the file system's atomic rename makes each nonce good for exactly one activation.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import type { AppendClaim } from './append-claims.js';

/** True for a challenge nonce as custody makes them: 32 to 128 lower-case hex digits (both stores check it). */
export function isNonceHex(nonceHex: string): boolean {
  return /^[0-9a-f]{32,128}$/.test(nonceHex);
}

/**
 * Writes `<dir>/<nonceHex>.json` holding `challenge`.
 * @throws ERR_CONFLICT_CHALLENGE for a nonce recorded before (open or spent), as the PostgreSQL store does;
 *   ERR_USAGE_CHALLENGE_NONCE for a nonce that is not lower-case hex; ERR_STORE_IO when it cannot be written
 */
export function recordChallenge(dir: string, nonceHex: string, challenge: Uint8Array): void {
  // The nonce becomes part of a path: only hex gets there.
  if (!isNonceHex(nonceHex))
    throw new CustodyError(
      'ERR_USAGE_CHALLENGE_NONCE',
      `${dir}: challenge nonce ${JSON.stringify(nonceHex.slice(0, 140))} is not 32 to 128 lower-case hex digits`,
    );
  const file = join(dir, `${nonceHex}.json`);
  const conflict = () => new CustodyError('ERR_CONFLICT_CHALLENGE', `${file}: challenge nonce ${nonceHex} was issued before`, { file });
  if (existsSync(`${file}.used`)) throw conflict();
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, challenge, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw conflict();
    throw new CustodyError('ERR_STORE_IO', `${file}: cannot record a challenge (${(e as NodeJS.ErrnoException).code})`, { file, cause: e });
  }
}

/** Marks the challenge of `nonceHex` in `dir` used, saying whether it was open, used before, or never recorded. */
export function consumeChallenge(dir: string, nonceHex: string): 'consumed' | 'already-used' | 'unknown' {
  // Checked before it becomes part of a path: a nonce is lower-case hex.
  if (!isNonceHex(nonceHex)) return 'unknown';
  const open = join(dir, `${nonceHex}.json`);
  // rename is atomic: of two verifiers consuming one nonce at once, exactly one succeeds.
  try {
    renameSync(open, `${open}.used`);
    return 'consumed';
  } catch {
    return existsSync(`${open}.used`) ? 'already-used' : 'unknown';
  }
}

/** The challenge recorded under `nonceHex` in `dir` and whether it was spent; undefined when never recorded. */
export function readChallenge(dir: string, nonceHex: string): { bytes: Uint8Array; used: boolean } | undefined {
  if (!isNonceHex(nonceHex)) return undefined;
  const open = join(dir, `${nonceHex}.json`);
  for (const [file, used] of [
    [open, false],
    [`${open}.used`, true],
  ] as const) {
    try {
      return { bytes: new Uint8Array(readFileSync(file)), used };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new CustodyError('ERR_STORE_IO', `${file}: cannot read the challenge (${(e as Error).message})`, { cause: e });
    }
  }
  return undefined;
}

/** Puts back a challenge consumed by a write that was then refused or failed (see `consumeChallenge`). */
export function restoreChallenge(dir: string, nonceHex: string): void {
  const open = join(dir, `${nonceHex}.json`);
  renameSync(`${open}.used`, open);
}

/** Why an append that would spend a challenge is refused, by the challenge's state. */
export function challengeRefusal(state: 'already-used' | 'unknown'): { code: string; message: string } {
  return state === 'already-used'
    ? { code: 'ERR_VERIFY_POSSESSION_REPLAY', message: 'the proof-of-possession challenge was spent by an earlier activation' }
    : { code: 'ERR_VERIFY_POSSESSION_UNKNOWN', message: 'this store never issued the proof-of-possession challenge' };
}

/**
 * The challenges an embedded store's append spends (see append-claims.ts), under the writer lock: each is consumed
 * before the write and put back when its item is refused or the write fails. A crash between the two leaves the
 * challenge spent and nothing recorded: a new challenge is needed, never a replay possible.
 */
export function challengeClaim(dir: string): AppendClaim {
  return {
    take: (item) => {
      if (item.challenge === undefined) return undefined;
      const state = consumeChallenge(dir, item.challenge);
      return state === 'consumed' ? undefined : challengeRefusal(state);
    },
    giveBack: (item) => {
      if (item.challenge !== undefined) restoreChallenge(dir, item.challenge);
    },
  };
}
