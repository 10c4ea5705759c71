/**
 * The transparency log from the CLI: the log key and checkpoints (`log init`, `log checkpoint`), proofs
 * (`log prove`, `log consistency`), and the verifier's inputs: trusted log keys and consistency proofs (the
 * exporter's side is `bundle-log.ts`; the checks are core's verifier).
 */
import { nodeSha256 } from '@custody/core/node';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  CustodyError,
  consistencyProof,
  createVerifierKey,
  encodeVerifierKey,
  fromBase64,
  inclusionProof,
  isNoteKeyName,
  parseStrictJSON,
  parseVerifierKey,
  signCheckpoint,
  toBase64,
  treeRoot,
  type Checkpoint,
  type CheckpointSigner,
  type ConsistencyProof,
  type VerifierKey,
} from '@custody/core';
import type { KeyProtection, Store } from '@custody/store';
import type { KeyRef, LogConfig } from '@custody/store/registry';
import { loadKey, provider, readInputFile } from './context.js';
import { makeKey, recordKey, type TokenKeyChoice } from './new-key.js';
import { produceOutput } from './outputs.js';

/** A store, as the log use cases read it: every store keeps a log (empty before `log init`). */
export type LogStore = Store;

/** `custody.example/<store folder name>`, with characters a note key name cannot hold replaced. */
export function defaultOrigin(store: Store): string {
  return `custody.example/${basename(resolve(store.location)).replace(/[\s+]/g, '-') || 'store'}`;
}

export interface LogInitResult {
  origin: string;
  /** The verifier key string (`<origin>+<key ID>+<key>`) that verifiers pass to `--log-key`. */
  verifierKey: string;
  /** The new key file; absent when the key is in a token. */
  keyFile?: string;
  /** The token key's URI as recorded (no PIN); absent for a key file. */
  keyUri?: string;
  pubFile: string;
}

export interface InitLogOptions {
  origin?: string;
  /** How to protect a new key file; unused with `tokenKey`. */
  protection?: KeyProtection;
  /** The log key in a PKCS#11 token (an existing P-256 key, or one generated there) instead of a key file. */
  tokenKey?: TokenKeyChoice;
  now: Date;
  pubOut?: string;
}

/**
 * Creates the store's log key (P-256: an encrypted key file, or a key in a token), records origin and key,
 * writes `log.pub`.
 * @throws ERR_CONFLICT_LOG_EXISTS when the store has a log key; ERR_USAGE_LOG_ORIGIN for an invalid origin;
 *   ERR_IO_KEY_EXISTS when the key file is already there; ERR_IO_NO_FOLDER, ERR_IO_WRITE for log.pub;
 *   ERR_KEY_ALGORITHM, ERR_PKCS11_* for a token key (see `makeKey`)
 */
export async function initLog(store: Store, o: InitLogOptions): Promise<LogInitResult> {
  const s = store;
  const existing = await s.getLogConfig();
  if (existing) throw new CustodyError('ERR_CONFLICT_LOG_EXISTS', `${store.location}: this store already has a log key (origin ${existing.origin})`);
  const origin = o.origin ?? defaultOrigin(store);
  if (!isNoteKeyName(origin))
    throw new CustodyError('ERR_USAGE_LOG_ORIGIN', `--origin ${JSON.stringify(origin)}: a log origin is one word without spaces or "+"`);
  // A PostgreSQL store's location is a URL: its log.pub goes to the working folder. It is checked before the
  // key is made: a log key recorded without its log.pub would need log init again, which refuses.
  const pubFile = o.pubOut ?? (/^postgres(ql)?:\/\//i.test(store.location) ? 'log.pub' : join(store.location, 'log.pub'));
  let ref: KeyRef | undefined;
  const verifierKey = await produceOutput(
    pubFile,
    { force: true },
    async () => {
      // The same key path as CAs and parties: a file under the store's key folder (log.key.pem), or a token key.
      const key = await makeKey('P-256', o.tokenKey, 'the log (C2SP checkpoints are signed with ECDSA P-256)');
      ref = recordKey(store, 'log', key, o.protection);
      const config: LogConfig = { origin, key: ref, createdAt: o.now.toISOString() };
      await s.setLogConfig(config);
      return encodeVerifierKey(createVerifierKey(origin, key.spki));
    },
    (key) => `${key}\n`,
  );
  const where = ref!.type === 'file' ? { keyFile: join(store.keyDir, ref!.path) } : { keyUri: ref!.uri };
  return { origin, verifierKey, ...where, pubFile };
}

/**
 * The log's signer; with `protection`, the log key is created first when the store has none.
 * @throws ERR_USAGE_LOG_NO_KEY when there is no log key and none may be created; ERR_KEY_PASSPHRASE
 */
export async function logSigner(
  store: Store,
  passphrase: string | undefined,
  create?: { protection?: KeyProtection; tokenKey?: TokenKeyChoice; now: Date },
): Promise<{ config: LogConfig; signer: CheckpointSigner }> {
  const s = store;
  let config = await s.getLogConfig();
  if (!config && create) {
    await initLog(store, create);
    config = await s.getLogConfig();
  }
  if (!config) throw new CustodyError('ERR_USAGE_LOG_NO_KEY', `${store.location}: this store has no log key yet (run "custody log init")`);
  return { config, signer: { name: config.origin, key: loadKey(store, config.key, passphrase) } };
}

/** The tree head of the first `size` leaves of the store's log, stating `now` as its time. */
function headOf(s: LogStore, origin: string, size: number, now: Date): Checkpoint {
  return { origin, treeSize: size, rootHash: treeRoot(s.logNodes(), size, nodeSha256), time: now, extensions: [] };
}

/** Signs the head of `size` leaves at `now` and keeps the checkpoint in the store's history (when it grows it). */
export async function signHead(s: LogStore, signer: CheckpointSigner, origin: string, size: number, now: Date): Promise<{ head: Checkpoint; note: string }> {
  const head = headOf(s, origin, size, now);
  const note = await signCheckpoint(head, signer, provider);
  await s.recordCheckpoint(size, note);
  return { head, note };
}

async function sizeArg(s: LogStore, size: number | undefined, flag: string): Promise<number> {
  const current = await s.logSize();
  await s.loadLogNodes(size ?? current);
  if (size === undefined) return current;
  if (!Number.isSafeInteger(size) || size < 0 || size > current)
    throw new CustodyError('ERR_USAGE_LOG_SIZE', `${flag} ${size}: the log has ${current} entries`);
  return size;
}

export interface CheckpointResult {
  origin: string;
  treeSize: number;
  /** Base64 RFC 6962 root. */
  rootHash: string;
  /** The signed note. */
  checkpoint: string;
}

/**
 * Signs a checkpoint of the log at `size` (default: the whole log) dated `now`, creating the log key first when
 * `create` is given; the store keeps it in its checkpoint history when it covers more than any kept before.
 * @throws ERR_USAGE_LOG_NO_KEY, ERR_USAGE_LOG_SIZE, ERR_KEY_PASSPHRASE, ERR_STORE_IO
 */
export async function createCheckpoint(
  store: Store,
  o: { passphrase: string | undefined; now: Date; size?: number; create?: { protection: KeyProtection; now: Date } },
): Promise<CheckpointResult> {
  const s = store;
  const { config, signer } = await logSigner(store, o.passphrase, o.create);
  const { head, note } = await signHead(s, signer, config.origin, await sizeArg(s, o.size, '--size'), o.now);
  return { origin: config.origin, treeSize: head.treeSize, rootHash: toBase64(head.rootHash), checkpoint: note };
}

export interface JSONInclusionProof {
  seq: number;
  leafIndex: number;
  treeSize: number;
  hashes: string[];
}

/**
 * Inclusion proofs of a device's attestations (all, or `seq`) in the tree of `size` leaves, with a checkpoint.
 * @throws ERR_DEVICE_UNKNOWN; ERR_USAGE_LOG_SEQ when the attestation is not logged at that size; as `createCheckpoint`
 */
export async function proveDevice(
  store: Store,
  o: { serial: string; seq?: number; size?: number; passphrase: string | undefined; now: Date },
): Promise<CheckpointResult & { serial: string; proofs: JSONInclusionProof[] }> {
  const s = store;
  const device = await store.getDevice(o.serial);
  if (!device) throw new CustodyError('ERR_DEVICE_UNKNOWN', `device ${o.serial} is not in ${store.location}`);
  // Every argument is checked before anything is signed: a refused command keeps no checkpoint.
  const size = await sizeArg(s, o.size, '--size');
  const seqs = o.seq === undefined ? device.attestations.map((_, i) => i) : [o.seq];
  const leaves: Array<{ seq: number; leafIndex: number }> = [];
  for (const seq of seqs) {
    const leafIndex = await s.logLeafIndex(o.serial, seq);
    if (leafIndex === undefined || leafIndex >= size) {
      throw new CustodyError(
        'ERR_USAGE_LOG_SEQ',
        `device ${o.serial}: attestation ${seq} is not in the log${leafIndex === undefined ? '' : ` of ${size} entries (it is entry ${leafIndex})`}`,
      );
    }
    leaves.push({ seq, leafIndex });
  }
  const cp = await createCheckpoint(store, { passphrase: o.passphrase, now: o.now, size });
  await s.loadLogNodes(size, { leaves: leaves.map((l) => l.leafIndex) });
  const proofs = leaves.map(({ seq, leafIndex }): JSONInclusionProof => {
    const p = inclusionProof(s.logNodes(), leafIndex, size, nodeSha256);
    return { seq, leafIndex, treeSize: p.treeSize, hashes: p.hashes.map(toBase64) };
  });
  return { serial: o.serial, ...cp, proofs };
}

export interface JSONConsistencyProof {
  origin: string;
  oldSize: number;
  newSize: number;
  oldRoot: string;
  newRoot: string;
  hashes: string[];
  /** A signed checkpoint of the new size. */
  checkpoint: string;
}

/**
 * The consistency proof between the trees of `oldSize` and `newSize` (default: now) leaves.
 * @throws ERR_USAGE_LOG_SIZE; as `createCheckpoint`
 */
export async function proveConsistency(
  store: Store,
  o: { oldSize: number; newSize?: number; passphrase: string | undefined; now: Date },
): Promise<JSONConsistencyProof> {
  const s = store;
  // Every argument is checked before anything is signed: a refused command keeps no checkpoint.
  const newSize = await sizeArg(s, o.newSize, '--new');
  const oldSize = await sizeArg(s, o.oldSize, '--old');
  if (oldSize > newSize) throw new CustodyError('ERR_USAGE_LOG_SIZE', `--old ${oldSize} is larger than --new ${newSize}`);
  const cp = await createCheckpoint(store, { passphrase: o.passphrase, now: o.now, size: newSize });
  await s.loadLogNodes(cp.treeSize, { oldSize });
  const p = consistencyProof(s.logNodes(), oldSize, cp.treeSize, nodeSha256);
  return {
    origin: cp.origin,
    oldSize,
    newSize: cp.treeSize,
    oldRoot: toBase64(treeRoot(s.logNodes(), oldSize, nodeSha256)),
    newRoot: cp.rootHash,
    hashes: p.hashes.map(toBase64),
    checkpoint: cp.checkpoint,
  };
}

/**
 * Verifier keys from `--log-key` values: a file holding the key string, or the string itself.
 * @throws ERR_INPUT_READ when neither; ERR_LOG_VERIFIER_KEY when malformed
 */
export function readVerifierKeys(values: readonly string[]): VerifierKey[] {
  return values.map((v) => {
    const text = existsSync(v) ? readInputFile(v, 'logKey').toString('utf8').trim() : v.includes('+') ? v : undefined;
    if (text === undefined) throw new CustodyError('ERR_INPUT_READ', `--log-key ${v}: no such file`, { file: v });
    try {
      return parseVerifierKey(text);
    } catch (e) {
      throw e instanceof CustodyError && existsSync(v) ? e.withFile(v) : e;
    }
  });
}

/**
 * Consistency proofs from `--log-consistency` files (the JSON `custody log consistency --json` prints).
 * @throws ERR_INPUT_READ; ERR_LOG_CONSISTENCY_FILE when a file is not such a proof
 */
export function readConsistencyProofs(files: readonly string[]): ConsistencyProof[] {
  return files.map((file) => {
    let o: Partial<Record<keyof JSONConsistencyProof, unknown>>;
    try {
      o = parseStrictJSON(readInputFile(file, 'consistencyProof').toString('utf8'), { code: 'ERR_INPUT_READ', what: 'not a consistency proof' }) as typeof o;
    } catch (e) {
      throw e instanceof CustodyError ? e.withFile(file) : e;
    }
    const bad = (why: string) => new CustodyError('ERR_LOG_CONSISTENCY_FILE', `${file}: ${why}`, { file });
    const count = (v: unknown, name: string) => {
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw bad(`${name} is not a tree size`);
      return v as number;
    };
    // `null` or a number is JSON too: reading its fields would throw a TypeError.
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('not a JSON object');
    if (!Array.isArray(o.hashes)) throw bad('hashes is not a list');
    const hashes = o.hashes.map((h, i) => {
      const b = typeof h === 'string' ? fromBase64(h) : undefined;
      if (!b || b.length !== 32) throw bad(`hashes[${i}] is not a base64 SHA-256 hash`);
      return b;
    });
    return { oldSize: count(o.oldSize, 'oldSize'), newSize: count(o.newSize, 'newSize'), hashes };
  });
}
