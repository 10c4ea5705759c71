/**
 * Verifier challenges of the embedded store: one file per nonce under `challenges/`, renamed to `.used` when
 * consumed, so that the file system's atomic rename makes each nonce good for exactly one answer.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** True for a challenge nonce as custody makes them: 32 to 128 lower-case hex digits (both stores check it). */
export function isNonceHex(nonceHex: string): boolean {
  return /^[0-9a-f]{32,128}$/.test(nonceHex);
}

/** Writes `<dir>/<nonceHex>.json` holding `challenge`; refuses (EEXIST) a nonce recorded before. */
export function recordChallenge(dir: string, nonceHex: string, challenge: Uint8Array): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${nonceHex}.json`), challenge, { flag: 'wx' });
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
