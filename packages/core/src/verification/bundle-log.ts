/**
 * The log part of a bundle, checked against trusted log keys: the checkpoint's signature, every attestation's
 * inclusion in its tree, and each earlier checkpoint's signature and consistency with it. From those it learns
 * when each attestation was provably logged: the earliest `timestamp` of a trusted checkpoint whose tree held
 * its leaf (the bundle's own checkpoint, or an earlier one proven to be a prefix of it). That time is what lets
 * an attestation by a since-revoked signer stand (`revoked-signer.ts`).
 *
 * Failures are checks (ERR_VERIFY_LOG_CHECKPOINT, ERR_VERIFY_LOG_INCLUSION, ERR_VERIFY_LOG_CONSISTENCY), never
 * exceptions. Whether the verifier has seen this log before (forks) is the caller's business: it has a memory.
 */
import { formatStatementTime } from '../attestation/statement.js';
import type { Bundle } from '../bundle/bundle-model.js';
import { rebuildAttestation } from '../bundle/rebuild-attestation.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { verifyCheckpoint, type Checkpoint } from '../log/checkpoint.js';
import { verifyConsistency } from '../log/consistency.js';
import { verifyInclusion } from '../log/inclusion.js';
import { leafHash, type HashFn } from '../log/merkle.js';
import type { VerifierKey } from '../log/verifier-key.js';
import { sha256 } from '../util/sha256.js';
import { fail, pass, type VerificationCheck } from './report.js';

/** What the bundle's log part is checked with. */
export interface BundleLogOptions {
  /** The trusted log keys; none: nothing is verified. */
  readonly keys: readonly VerifierKey[];
  readonly provider: CryptoProvider;
  /** SHA-256 for leaves and proofs (default: the pure implementation). */
  readonly hash?: HashFn;
}

/** What the log checks of one bundle found. */
export interface BundleLogVerdict {
  readonly checks: VerificationCheck[];
  /** Every attestation's inclusion verified against a checkpoint signed by a trusted key. */
  readonly included: boolean;
  /** The bundle's checkpoint, once its signature by a trusted key verified. */
  readonly checkpoint?: Checkpoint;
  /**
   * By attestation index: the earliest time a trusted, timestamped checkpoint proves it was logged by; undefined
   * where nothing proves a time. Pass it to `verify` as `logTimes`.
   */
  readonly loggedAt: readonly (Date | undefined)[];
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Checks a bundle's log part against trusted log keys, and finds when each attestation was provably logged.
 * Never throws for a bad bundle: every failure is a check.
 */
export async function verifyBundleLog(bundle: Bundle, o: BundleLogOptions): Promise<BundleLogVerdict> {
  const n = bundle.attestations.length;
  const none = (checks: VerificationCheck[]): BundleLogVerdict => ({ checks, included: false, loggedAt: new Array<undefined>(n).fill(undefined) });
  const log = bundle.log;
  if (!log) return none(o.keys.length > 0 ? [pass('log checkpoint', 'the bundle carries no log proofs')] : []);
  if (o.keys.length === 0) return none([pass('log checkpoint', 'not verified: no trusted log key given')]);
  const hash = o.hash ?? sha256;
  let head: Checkpoint;
  try {
    head = (await verifyCheckpoint(log.checkpoint, o.keys, o.provider)).checkpoint;
  } catch (e) {
    return none([fail('log checkpoint', 'ERR_VERIFY_LOG_CHECKPOINT', message(e))]);
  }
  const stated = head.time ? `, dated ${formatStatementTime(head.time)}` : '';
  const checks: VerificationCheck[] = [pass('log checkpoint', `${head.origin} at ${head.treeSize} entries${stated}, signed by a trusted log key`)];

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
      checks.push(pass(name, `entry ${at} of ${head.treeSize}`, i));
    } catch (e) {
      included = false;
      leaves.push(undefined);
      checks.push(fail(name, 'ERR_VERIFY_LOG_INCLUSION', message(e), i));
    }
  }

  // Earlier checkpoints: trusted, of the same log, and a prefix of the bundle checkpoint's tree.
  const proven: Checkpoint[] = [head];
  for (const [k, e] of (log.earlier ?? []).entries()) {
    const name = `log earlier checkpoint ${k}`;
    let cp: Checkpoint;
    try {
      cp = (await verifyCheckpoint(e.checkpoint, o.keys, o.provider, { origin: head.origin })).checkpoint;
    } catch (err) {
      checks.push(fail(name, 'ERR_VERIFY_LOG_CHECKPOINT', message(err)));
      continue;
    }
    try {
      verifyConsistency({ oldSize: cp.treeSize, newSize: head.treeSize, hashes: e.consistency }, cp.rootHash, head.rootHash, hash);
    } catch (err) {
      checks.push(fail(name, 'ERR_VERIFY_LOG_CONSISTENCY', message(err)));
      continue;
    }
    proven.push(cp);
    checks.push(pass(name, `${cp.treeSize} entries${cp.time ? `, dated ${formatStatementTime(cp.time)}` : ', no time stated'}, a prefix of the bundle's checkpoint`));
  }

  const loggedAt = leaves.map((leaf) => {
    if (leaf === undefined) return undefined;
    let earliest: Date | undefined;
    for (const cp of proven) if (cp.time && leaf < cp.treeSize && (!earliest || cp.time < earliest)) earliest = cp.time;
    return earliest;
  });
  return { checks, included, checkpoint: head, loggedAt };
}
