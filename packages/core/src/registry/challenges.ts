/**
 * The proof-of-possession challenges a verifier issued, as a registry keeps them: recorded when issued, read back
 * by verification, spent by activation (in the same write as the activation record: `AttestationAppend.challenge`).
 */
import type { ChallengeRecords, ChallengeRegistry } from '../possession/challenge.js';

/** Issue, read and spend: every registry keeps its verifier's challenges. */
export interface ChallengeLedger extends ChallengeRegistry, ChallengeRecords {
  /**
   * Remembers an issued challenge (its exact bytes) until it is consumed.
   * @throws ERR_CONFLICT_CHALLENGE when the nonce was recorded before
   */
  recordChallenge(nonceHex: string, challenge: Uint8Array): Promise<void>;
}
