/**
 * What a verifier remembers of each log: the newest checkpoint it has seen and trusted. A log that shows one
 * verifier a tree and another verifier (or the same one later) a different tree is caught here: a checkpoint of
 * the same size must have the same root, and one of another size counts only with a consistency proof between
 * the two trees (RFC 6962 2.1.2), from the bundle's earlier checkpoints or from the log's operator. Without such a
 * proof the checkpoint is rejected and the remembered one stays: a log that cannot prove it only grew gets no
 * benefit of the doubt. A verifier that keeps the log itself (a store checking bundles of its own log) proves it
 * from its own nodes.
 *
 * The memory is a port: the store implements it (`getSeenCheckpoint`, `putSeenCheckpoint`). Nothing is
 * remembered from a checkpoint that did not verify under a trusted key of its own log.
 */
import { formatStatementTime } from '../attestation/statement.js';
import { parseCheckpoint, type Checkpoint } from '../log/checkpoint.js';
import { verifyConsistency, type ConsistencyProof } from '../log/consistency.js';
import type { HashFn } from '../log/merkle.js';
import { equalBytes } from '../util/bytes.js';
import { sha256 } from '../util/sha256.js';
import { fail, pass, type VerificationCheck } from './report.js';

/** Where a verifier keeps the newest trusted checkpoint of each log (the store implements it). */
export interface CheckpointMemory {
  /** The newest checkpoint remembered of the log named `origin` (its signed note), if any. */
  getSeenCheckpoint(origin: string): Promise<string | undefined>;
  /** Remembers `note` as the newest checkpoint of the log named `origin`. */
  putSeenCheckpoint(origin: string, note: string): Promise<void>;
  /**
   * A consistency proof between two sizes of the log named `origin`, when this verifier keeps that log itself
   * (its own store's log); undefined for any other log. It is verified like any other proof.
   */
  consistencyProof?(origin: string, oldSize: number, newSize: number): Promise<ConsistencyProof | undefined>;
}

/** A verified bundle checkpoint, as the memory check needs it. */
export interface SeenCandidate {
  readonly checkpoint: Checkpoint;
  /** Its signed note: what is remembered. */
  readonly note: string;
  /** Earlier checkpoints the bundle proved to be prefixes of `checkpoint`. */
  readonly earlier: readonly Checkpoint[];
}

const NAME = 'log consistency';

/**
 * Checks a trusted bundle checkpoint against the one remembered of its log, and remembers it when it is the newer
 * and proven consistent. `proofs` are consistency proofs from the log's operator (`--log-consistency`).
 * Never throws for bad evidence: a failure is a check (ERR_VERIFY_LOG_FORK, ERR_VERIFY_LOG_CONSISTENCY).
 * @throws whatever the memory port throws (a store failure)
 */
export async function checkRemembered(
  candidate: SeenCandidate,
  memory: CheckpointMemory,
  proofs: readonly ConsistencyProof[],
  hash: HashFn = sha256,
): Promise<VerificationCheck> {
  const head = candidate.checkpoint;
  const seenNote = await memory.getSeenCheckpoint(head.origin);
  if (seenNote === undefined) {
    await memory.putSeenCheckpoint(head.origin, candidate.note);
    return pass(NAME, `first checkpoint seen of ${head.origin}; remembered`);
  }
  let seen: Checkpoint;
  try {
    seen = parseCheckpoint(seenNote).checkpoint;
  } catch (e) {
    return fail(
      NAME,
      'ERR_VERIFY_LOG_CONSISTENCY',
      `the checkpoint remembered of ${head.origin} does not parse (${(e as Error).message}); nothing can be proven against it`,
    );
  }
  if (seen.treeSize === head.treeSize) {
    if (equalBytes(seen.rootHash, head.rootHash)) return pass(NAME, `same tree as the checkpoint seen before (${head.treeSize} entries)`);
    return fail(
      NAME,
      'ERR_VERIFY_LOG_FORK',
      `${head.origin} at ${head.treeSize} entries has another root than the checkpoint of the same size seen before: the log forked`,
    );
  }
  const grows = head.treeSize > seen.treeSize;
  const [older, newer] = grows ? [seen, head] : [head, seen];
  // A log's stated times follow its growth: a larger tree dated before a smaller one is a backdated tree head.
  for (const cp of [head, ...candidate.earlier]) {
    const why = timesOutOfOrder(cp, seen);
    if (why) return fail(NAME, 'ERR_VERIFY_LOG_CONSISTENCY', `${head.origin}: ${why}`);
  }
  // The bundle itself may prove it: an earlier checkpoint of its own that is the remembered tree.
  if (grows && candidate.earlier.some((e) => e.treeSize === seen.treeSize && equalBytes(e.rootHash, seen.rootHash))) {
    await memory.putSeenCheckpoint(head.origin, candidate.note);
    return pass(
      NAME,
      `consistent with the checkpoint seen before (${older.treeSize} to ${newer.treeSize} entries, proven by the bundle); the newer one is remembered`,
    );
  }
  const proof =
    proofs.find((p) => p.oldSize === older.treeSize && p.newSize === newer.treeSize) ??
    (await memory.consistencyProof?.(head.origin, older.treeSize, newer.treeSize));
  if (!proof) {
    return fail(
      NAME,
      'ERR_VERIFY_LOG_CONSISTENCY',
      `${head.origin}: the bundle's checkpoint (${head.treeSize} entries) is not proven consistent with the one seen before (${seen.treeSize} entries); ` +
        `give --log-consistency with a proof from ${older.treeSize} to ${newer.treeSize} entries ("custody log consistency --old ${older.treeSize} --new ${newer.treeSize}" on the log's store)`,
    );
  }
  try {
    verifyConsistency(proof, older.rootHash, newer.rootHash, hash);
  } catch (e) {
    return fail(NAME, 'ERR_VERIFY_LOG_CONSISTENCY', `${head.origin}: ${(e as Error).message}`);
  }
  if (grows) await memory.putSeenCheckpoint(head.origin, candidate.note);
  return pass(
    NAME,
    `consistent with the checkpoint seen before (${older.treeSize} to ${newer.treeSize} entries)${grows ? '; the newer one is remembered' : ''}`,
  );
}

/**
 * Why two checkpoints of one log contradict each other in time: the larger tree is dated before the smaller one
 * (a log only grows, so its later tree heads cannot be older). Undefined when they agree or state no time.
 */
export function timesOutOfOrder(a: Checkpoint, b: Checkpoint): string | undefined {
  if (!a.time || !b.time || a.treeSize === b.treeSize) return undefined;
  const [small, large] = a.treeSize < b.treeSize ? [a, b] : [b, a];
  if (large.time! >= small.time!) return undefined;
  return `the tree of ${large.treeSize} entries is dated ${formatStatementTime(large.time!)}, before the tree of ${small.treeSize} entries (${formatStatementTime(small.time!)}): the log's time went backwards`;
}
