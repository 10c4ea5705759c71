/**
 * The log part of a bundle: its checkpoint, every attestation's inclusion in that checkpoint's tree, and each
 * earlier checkpoint's consistency with it. From those the verifier learns when each attestation was provably
 * logged: the earliest `timestamp` of a trusted checkpoint whose tree held its leaf (the bundle's own checkpoint,
 * or an earlier one proven to be a prefix of it). That time is what lets an attestation by a since-revoked signer
 * stand (`revoked-signer.ts`).
 *
 * Without a trusted log key the part is still checked for consistency (each inclusion proof against the
 * checkpoint's own root, each earlier checkpoint's consistency proof), so that a changed byte anywhere in it fails;
 * it then proves nothing (no inclusion, no times). With trusted keys, a checkpoint counts only when signed by the key
 * of the log it names (`verifyCheckpoint`).
 *
 * Failures are checks (ERR_VERIFY_LOG_CHECKPOINT, ERR_VERIFY_LOG_INCLUSION, ERR_VERIFY_LOG_CONSISTENCY), never
 * exceptions. Consistency with what the verifier saw of the log before is `checkpoint-memory.ts`.
 */
import { formatStatementTime } from '../attestation/statement.js';
import type { Bundle } from '../bundle/bundle-model.js';
import { rebuildAttestation } from '../bundle/rebuild-attestation.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { parseCheckpoint, verifyCheckpoint, type Checkpoint } from '../log/checkpoint.js';
import { verifyConsistency } from '../log/consistency.js';
import { verifyInclusion } from '../log/inclusion.js';
import { leafHash, type HashFn } from '../log/merkle.js';
import type { VerifierKey } from '../log/verifier-key.js';
import { sha256 } from '../util/sha256.js';
import { timesOutOfOrder } from './checkpoint-memory.js';
import { fail, pass, type VerificationCheck } from './report.js';

/** What the bundle's log part is checked with. */
export interface BundleLogOptions {
  /** The trusted log keys; none: the part is checked for consistency only and proves nothing. */
  readonly keys: readonly VerifierKey[];
  readonly provider: CryptoProvider;
  /** SHA-256 for leaves and proofs (default: the pure implementation). */
  readonly hash?: HashFn;
  /** The verification time: a checkpoint dated after it (beyond `CHECKPOINT_CLOCK_SKEW_MS`) is refused. */
  readonly at?: Date;
}

/** How far a checkpoint's time may be ahead of the verification time: clocks of log and verifier differ a little. */
export const CHECKPOINT_CLOCK_SKEW_MS = 5 * 60_000;

/** A checkpoint dated after the verification time (beyond the skew) was not signed when it says: refused. */
function notFromTheFuture(cp: Checkpoint, at: Date | undefined): void {
  if (at && cp.time && cp.time.getTime() > at.getTime() + CHECKPOINT_CLOCK_SKEW_MS) {
    throw new Error(`checkpoint of ${cp.treeSize} entries is dated ${formatStatementTime(cp.time)}, after the verification time ${formatStatementTime(at)}`);
  }
}

/** What the log checks of one bundle found. */
export interface BundleLogVerdict {
  readonly checks: VerificationCheck[];
  /** Every attestation's inclusion verified against a checkpoint signed by a trusted key. */
  readonly included: boolean;
  /** The bundle's checkpoint and its signed note, once its signature by a trusted key verified. */
  readonly checkpoint?: Checkpoint;
  readonly note?: string;
  /** The earlier checkpoints proven to be prefixes of `checkpoint` (trusted and consistent). */
  readonly earlier: readonly Checkpoint[];
  /**
   * By attestation index: the earliest time a trusted, timestamped checkpoint proves it was logged by; undefined
   * where nothing proves a time.
   */
  readonly loggedAt: readonly (Date | undefined)[];
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Checks a bundle's log part, against trusted log keys when there are any, and finds when each attestation was
 * provably logged. Never throws for a bad bundle: every failure is a check.
 */
export async function verifyBundleLog(bundle: Bundle, o: BundleLogOptions): Promise<BundleLogVerdict> {
  const n = bundle.attestations.length;
  const unproven = new Array<undefined>(n).fill(undefined);
  const log = bundle.log;
  if (!log)
    return { checks: o.keys.length > 0 ? [pass('log checkpoint', 'the bundle carries no log proofs')] : [], included: false, earlier: [], loggedAt: unproven };
  const hash = o.hash ?? sha256;
  const trusted = o.keys.length > 0;
  let head: Checkpoint;
  try {
    head = trusted ? (await verifyCheckpoint(log.checkpoint, o.keys, o.provider)).checkpoint : parseCheckpoint(log.checkpoint).checkpoint;
    notFromTheFuture(head, o.at);
  } catch (e) {
    return { checks: [fail('log checkpoint', 'ERR_VERIFY_LOG_CHECKPOINT', message(e))], included: false, earlier: [], loggedAt: unproven };
  }
  const stated = head.time ? `, dated ${formatStatementTime(head.time)}` : '';
  const checks: VerificationCheck[] = [
    trusted
      ? pass('log checkpoint', `${head.origin} at ${head.treeSize} entries${stated}, signed by a trusted log key`)
      : pass(
          'log checkpoint',
          `not verified: no trusted log key given (${head.origin} at ${head.treeSize} entries; its proofs are checked against its own root only)`,
        ),
  ];

  // Where each attestation's leaf is in the bundle checkpoint's tree (the smallest index proven, if several).
  const leaves: (number | undefined)[] = [];
  let included = true;
  for (const [i, entry] of bundle.attestations.entries()) {
    const name = `log inclusion ${i}`;
    const proofs = log.proofs.filter((p) => p.attestation === i);
    try {
      if (proofs.length === 0) throw new Error(`attestation ${i} has no inclusion proof`);
      const leaf = leafHash(rebuildAttestation(entry, bundle.certificates, hash), hash);
      for (const p of proofs) {
        if (p.treeSize !== head.treeSize) throw new Error(`the proof is for a tree of ${p.treeSize} entries, the checkpoint has ${head.treeSize}`);
        verifyInclusion(leaf, p, head.rootHash, hash);
      }
      const at = Math.min(...proofs.map((p) => p.leafIndex));
      leaves.push(at);
      checks.push(pass(name, `entry ${at} of ${head.treeSize}${trusted ? '' : ' (of an unverified checkpoint)'}`, i));
    } catch (e) {
      included = false;
      leaves.push(undefined);
      checks.push(fail(name, 'ERR_VERIFY_LOG_INCLUSION', message(e), i));
    }
  }

  // Earlier checkpoints: trusted, of the same log, and a prefix of the bundle checkpoint's tree.
  const proven: Checkpoint[] = [];
  for (const [k, e] of (log.earlier ?? []).entries()) {
    const name = `log earlier checkpoint ${k}`;
    let cp: Checkpoint;
    try {
      cp = trusted ? (await verifyCheckpoint(e.checkpoint, o.keys, o.provider, { origin: head.origin })).checkpoint : parseCheckpoint(e.checkpoint).checkpoint;
      if (!trusted && cp.origin !== head.origin)
        throw new Error(`checkpoint is from log ${JSON.stringify(cp.origin)}, the bundle's from ${JSON.stringify(head.origin)}`);
      notFromTheFuture(cp, o.at);
    } catch (err) {
      checks.push(fail(name, 'ERR_VERIFY_LOG_CHECKPOINT', message(err)));
      continue;
    }
    try {
      verifyConsistency({ oldSize: cp.treeSize, newSize: head.treeSize, hashes: e.consistency }, cp.rootHash, head.rootHash, hash);
      // A prefix of the tree cannot have been signed after the tree, nor after a larger prefix: the log's times
      // would run backwards.
      if (cp.time && head.time && cp.time > head.time)
        throw new Error(`it is dated ${formatStatementTime(cp.time)}, after the bundle's checkpoint of the larger tree (${formatStatementTime(head.time)})`);
      for (const other of proven) {
        const why = timesOutOfOrder(cp, other);
        if (why) throw new Error(why);
      }
    } catch (err) {
      checks.push(fail(name, 'ERR_VERIFY_LOG_CONSISTENCY', message(err)));
      continue;
    }
    proven.push(cp);
    checks.push(
      pass(name, `${cp.treeSize} entries${cp.time ? `, dated ${formatStatementTime(cp.time)}` : ', no time stated'}, a prefix of the bundle's checkpoint`),
    );
  }
  if (!trusted) return { checks, included: false, earlier: [], loggedAt: unproven };

  const loggedAt = leaves.map((leaf) => {
    if (leaf === undefined) return undefined;
    let earliest: Date | undefined;
    for (const cp of [head, ...proven]) if (cp.time && leaf < cp.treeSize && (!earliest || cp.time < earliest)) earliest = cp.time;
    return earliest;
  });
  return { checks, included, checkpoint: head, note: log.checkpoint, earlier: proven, loggedAt };
}
