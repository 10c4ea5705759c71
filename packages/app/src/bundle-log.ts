/**
 * The log part of exported bundles: a checkpoint of the store's log now, an inclusion proof of every
 * attestation, and, where an attestation must prove it was logged before a revocation, the earliest checkpoint
 * the store kept of a tree holding it, with a consistency proof to the bundle's checkpoint.
 */
import {
  consistencyProof,
  inclusionProof,
  parseCheckpoint,
  readCertificateInfo,
  type Bundle,
  type BundleEarlierCheckpoint,
  type BundleLog,
  type Checkpoint,
} from '@custody/core';
import type { Store } from '@custody/store';
import { loadKey, readPassphrase } from './context.js';
import { nodeSha256 } from '@custody/core/node';
import { signHead, type LogStore } from './log.js';

// One signed checkpoint per store and log size: exporting a lot signs once, not once per device.
const signedBySize = new WeakMap<Store, { size: number; head: Checkpoint; note: string }>();
// The serials (hex) of every certificate the store's CAs revoked, read once per store.
const revokedSerials = new WeakMap<Store, Promise<Set<string>>>();

/** What goes into a bundle's log part. */
export interface BundleLogOptions {
  /** The log key's passphrase; default CUSTODY_PASSPHRASE. */
  passphrase?: string | undefined;
  /** The time the bundle's checkpoint states. */
  now: Date;
  /**
   * Earlier checkpoints for every attestation, not only for those whose signer this store has revoked: for
   * bundles that must outlive a revocation the exporter does not know of yet.
   */
  history?: boolean;
}

function revokedInStore(store: Store): Promise<Set<string>> {
  let hit = revokedSerials.get(store);
  if (!hit) {
    hit = (async () => new Set((await Promise.all((await store.listCAs()).map((ca) => store.listRevocations(ca.name)))).flat().map((r) => r.serialHex)))();
    revokedSerials.set(store, hit);
  }
  return hit;
}

/**
 * The `log` of a device's bundle: a checkpoint of the log now and one inclusion proof per attestation; none
 * when the store has no log key or an attestation predates the log. For each attestation whose signer a CA of
 * this store revoked (every attestation, with `history`), also the earliest kept checkpoint whose tree holds it,
 * with a consistency proof to the bundle's checkpoint: what proves it was logged before the revocation. The
 * serial alone marks a signer as revoked: the store's CAs draw their serials at random.
 * @throws ERR_KEY_PASSPHRASE when the log key is encrypted and no passphrase is set
 */
export async function bundleLogOf(store: Store, bundle: Bundle, serial: string, o: BundleLogOptions): Promise<BundleLog | undefined> {
  const attestations = bundle.attestations.length;
  if (attestations === 0) return undefined;
  const config = await store.getLogConfig();
  if (!config) return undefined;
  const leaves: number[] = [];
  for (let seq = 0; seq < attestations; seq++) {
    const leaf = await store.logLeafIndex(serial, seq);
    if (leaf === undefined) return undefined;
    leaves.push(leaf);
  }
  const size = await store.logSize();
  await store.loadLogNodes(size, { leaves });
  let cached = signedBySize.get(store);
  if (!cached || cached.size !== size) {
    const signer = { name: config.origin, key: loadKey(store, config.key, o.passphrase ?? readPassphrase(undefined)) };
    cached = { size, ...(await signHead(store, signer, config.origin, size, o.now)) };
    signedBySize.set(store, cached);
  }
  const proofs = leaves.map((leafIndex, attestation) => ({ attestation, ...inclusionProof(store.logNodes(), leafIndex, size, nodeSha256) }));
  const earlier = await earlierCheckpoints(store, bundle, leaves, cached, o.history ?? false);
  return earlier.length > 0 ? { checkpoint: cached.note, proofs, earlier } : { checkpoint: cached.note, proofs };
}

/** The earliest kept checkpoints of the leaves that need one, each once, with consistency proofs to `head`. */
async function earlierCheckpoints(
  store: LogStore,
  bundle: Bundle,
  leaves: readonly number[],
  bundleHead: { head: Checkpoint; note: string },
  all: boolean,
): Promise<BundleEarlierCheckpoint[]> {
  const revoked = all ? undefined : await revokedInStore(store);
  if (revoked?.size === 0) return [];
  const { head } = bundleHead;
  const notes = new Set<string>();
  for (const [i, leaf] of leaves.entries()) {
    if (revoked && !revoked.has(readCertificateInfo(bundle.certificates[bundle.attestations[i]!.signer]!).serialHex)) continue;
    const note = await store.checkpointCovering(leaf);
    // The bundle's own checkpoint needs no second copy; one of a larger tree (another history) proves nothing here.
    if (note !== undefined && note !== bundleHead.note) notes.add(note);
  }
  const out: BundleEarlierCheckpoint[] = [];
  for (const note of notes) {
    const old = parseCheckpoint(note).checkpoint;
    if (old.origin !== head.origin || old.treeSize > head.treeSize) continue;
    await store.loadLogNodes(head.treeSize, { oldSize: old.treeSize });
    out.push({ checkpoint: note, consistency: consistencyProof(store.logNodes(), old.treeSize, head.treeSize, nodeSha256).hashes });
  }
  // Oldest first: the order readers meet them in.
  return out.sort((a, b) => parseCheckpoint(a.checkpoint).checkpoint.treeSize - parseCheckpoint(b.checkpoint).checkpoint.treeSize);
}
