/**
 * What a store proves about its own transparency log to its own verifier: the consistency of two of its tree
 * sizes, from the nodes it keeps (the `CheckpointMemory.consistencyProof` port of core's verifier).
 */
import { consistencyProof, type ConsistencyProof } from '@custody/core/log';
import { nodeSha256 } from '@custody/core/node';
import type { TransparencyLogStore } from './types.js';

/** The proof from `oldSize` to `newSize` leaves when `origin` is the store's own log and both sizes exist; else undefined. */
export async function ownLogConsistency(
  s: Omit<TransparencyLogStore, 'consistencyProof'>,
  origin: string,
  oldSize: number,
  newSize: number,
): Promise<ConsistencyProof | undefined> {
  const config = await s.getLogConfig();
  if (config?.origin !== origin || !(oldSize <= newSize) || newSize > (await s.logSize())) return undefined;
  await s.loadLogNodes(newSize, { oldSize });
  return consistencyProof(s.logNodes(), oldSize, newSize, nodeSha256);
}
