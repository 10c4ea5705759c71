/**
 * The transparency log a registry keeps of every attestation it records (RFC 6962 hashing), the checkpoints it
 * signed of it, and a verifier's memory of other logs' checkpoints. Core declares them; the store package
 * implements them on both backends. Every registry has a log: an empty one before `log init`.
 */
import type { ConsistencyProof } from '../log/consistency.js';
import type { NodeStore } from '../log/node-store.js';
import type { CheckpointMemory } from '../verification/checkpoint-memory.js';
import type { KeyRef } from './documents.js';

/** The log's settings: its origin (also the checkpoint key name) and signing key. */
export interface LogConfig {
  origin: string;
  /** A P-256 key, encrypted like every other key of the registry. */
  key: KeyRef;
  createdAt: string;
}

/** The log of every attestation recorded. Leaves are appended in the same write as the attestations, in record order. */
export interface TransparencyLog {
  /** Number of leaves in the log (0 for a log nothing was appended to). */
  logSize(): Promise<number>;
  /** The log's stored subtree hashes (for roots and proofs of any size up to `logSize()`). */
  logNodes(): NodeStore;
  /**
   * Prepares `logNodes()` to answer the root of the tree of `size` leaves, the inclusion proofs of `leaves` in
   * it and the consistency proof from `oldSize` (and that tree's root): a registry whose nodes are remote fetches
   * them here, once; a local one does nothing. Call before the synchronous reads.
   * @throws ERR_STORE_IO, ERR_STORE_UNAVAILABLE when the nodes cannot be read
   */
  loadLogNodes(size: number, needs?: { leaves?: readonly number[]; oldSize?: number }): Promise<void>;
  /** The leaf index of a device's attestation `seq` (0 = birth), or undefined when it is not logged. */
  logLeafIndex(serial: string, seq: number): Promise<number | undefined>;
  /** Which device attestation leaf `index` is, or undefined past the end. */
  logLeaf(index: number): Promise<{ serial: string; seq: number } | undefined>;
  /** The log's settings, undefined until `log init`. */
  getLogConfig(): Promise<LogConfig | undefined>;
  /** @throws ERR_CONFLICT_LOG_EXISTS when the registry already has a log key */
  setLogConfig(config: LogConfig): Promise<void>;
}

/** The checkpoints a registry's log signed, kept so that an exporter can prove later that a leaf was logged early. */
export interface CheckpointHistory {
  /**
   * Keeps `note`, a signed checkpoint of the first `treeSize` leaves, when no checkpoint of that size or larger
   * is kept yet.
   * @throws ERR_STORE_IO when it cannot be written
   */
  recordCheckpoint(treeSize: number, note: string): Promise<void>;
  /**
   * The kept checkpoint of the smallest tree that holds leaf `leafIndex` (so the earliest that proves it was
   * logged), or undefined when none does.
   * @throws ERR_STORE_IO when it cannot be read
   */
  checkpointCovering(leafIndex: number): Promise<string | undefined>;
}

/**
 * The verifier's checkpoint memory as a registry implements it: the newest checkpoint seen of each log, and
 * consistency proofs of its own log (undefined for any other origin).
 */
export interface RegistryCheckpointMemory extends CheckpointMemory {
  consistencyProof(origin: string, oldSize: number, newSize: number): Promise<ConsistencyProof | undefined>;
}
