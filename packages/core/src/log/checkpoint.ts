/**
 * Signed tree heads as C2SP tlog-checkpoints (c2sp.org/tlog-checkpoint): a signed note whose text is
 * `<origin>\n<tree size>\n<base64 root hash>\n` and optional non-empty extension lines, signed by the log's
 * ECDSA P-256 key (signature type 0x02, see `verifier-key.ts`). Signing and verifying go through the
 * CryptoProvider, which speaks P1363; the note carries DER, converted by the strict codec.
 *
 * custody's one extension line: `timestamp <RFC 3339 UTC time in whole seconds>` (`timestamp
 * 2026-11-24T12:00:00Z`), right after the root hash line, at most once. It states when the log signed the
 * checkpoint, so a verifier that trusts the log key learns that every leaf of the tree existed by then (how an
 * attestation by a since-revoked signer proves it was logged before the revocation). Checkpoints without it
 * stay valid; they prove no time.
 */
import { quoteBounded } from '../util/strict-json.js';
import { logError } from './log-errors.js';
import { encodeSignedNote, isNoteKeyName, parseSignedNote, type NoteSignature } from './signed-note.js';
import { ecdsaNoteKeyId, type VerifierKey } from './verifier-key.js';
import { CustodyError } from '../errors.js';
import { ecdsaDERToP1363, ecdsaP1363ToDER } from '../crypto/ecdsa-signature.js';
import type { CryptoProvider, PrivateKeyHandle } from '../crypto/provider.js';
import { fromBase64, toBase64, utf8 } from '../util/bytes.js';

/** The tree head a checkpoint states. */
export interface Checkpoint {
  readonly origin: string;
  readonly treeSize: number;
  /** The RFC 6962 root, 32 bytes. */
  readonly rootHash: Uint8Array;
  /** When the log signed it (the `timestamp` extension line), in whole seconds; absent: no time stated. */
  readonly time?: Date;
  /** The other extension lines, in order. */
  readonly extensions: readonly string[];
}

/** A parsed, not yet verified, signed checkpoint. */
export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A log's signing key and the key name its signature lines carry (the origin, by convention). */
export interface CheckpointSigner {
  readonly name: string;
  readonly key: PrivateKeyHandle;
}

/** A checkpoint whose signatures by trusted keys all verified. */
export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** Names of the trusted keys whose signatures verified (at least one). */
  readonly verifiedBy: readonly string[];
}

const HASH_BYTES = 32;
const TIMESTAMP = 'timestamp';
// RFC 3339 has four-digit years.
const MIN_TIME = Date.parse('0000-01-01T00:00:00Z');
const MAX_TIME = Date.parse('+010000-01-01T00:00:00Z');
const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function bad(why: string): Error {
  return logError('ERR_LOG_CHECKPOINT', `checkpoint: ${why}`);
}

function badSignature(why: string, cause?: unknown): Error {
  return logError('ERR_LOG_CHECKPOINT_SIGNATURE', `checkpoint: ${why}`, cause);
}

/** True when an extension line is custody's timestamp line, well-formed or not (its first word is `timestamp`). */
function isTimestampLine(line: string): boolean {
  return line === TIMESTAMP || line.startsWith(`${TIMESTAMP} `);
}

/** `timestamp <time>`, the time rounded down to whole seconds. */
function encodeTimestamp(time: Date): string {
  const ms = time instanceof Date ? time.getTime() : NaN;
  if (!Number.isFinite(ms) || ms < MIN_TIME || ms >= MAX_TIME) throw bad('the time is not a valid date of the years 0000 to 9999');
  return `${TIMESTAMP} ${new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')}`;
}

/** The time of a `timestamp` line, strictly: `timestamp YYYY-MM-DDThh:mm:ssZ`, a real UTC time. */
function parseTimestamp(line: string): Date {
  const value = line.slice(TIMESTAMP.length + 1);
  if (!line.startsWith(`${TIMESTAMP} `) || !RFC3339_SECONDS.test(value))
    throw bad(`timestamp line ${quoteBounded(line)} is not "timestamp YYYY-MM-DDThh:mm:ssZ"`);
  const time = new Date(value);
  // Date accepts 24:00:00 and rolls over some impossible days: the time must print back as the same text.
  if (Number.isNaN(time.getTime()) || time.toISOString().replace('.000Z', 'Z') !== value) throw bad(`timestamp ${value} is not a valid UTC time`);
  return time;
}

/**
 * The checkpoint's note text: origin, size, root, the timestamp line when `time` is set, the other extensions.
 * @throws CustodyError ERR_LOG_CHECKPOINT when the origin is empty or holds a newline, the size is not a
 * non-negative safe integer, the root is not 32 bytes, the time is not a valid date of years 0000 to 9999, or an
 * extension line is empty, holds a newline or is a timestamp line.
 */
export function encodeCheckpoint(cp: Checkpoint): string {
  if (cp.origin === '' || cp.origin.includes('\n')) throw bad('the origin must be one non-empty line');
  if (!Number.isSafeInteger(cp.treeSize) || cp.treeSize < 0) throw bad(`tree size ${cp.treeSize} is not a non-negative integer`);
  if (cp.rootHash.length !== HASH_BYTES) throw bad(`the root hash has ${cp.rootHash.length} bytes, not ${HASH_BYTES}`);
  for (const e of cp.extensions) if (e === '' || e.includes('\n')) throw bad('extension lines must be non-empty single lines');
  if (cp.extensions.some(isTimestampLine)) throw bad('give the time as `time`, not as an extension line');
  const time = cp.time === undefined ? [] : [encodeTimestamp(cp.time)];
  return [cp.origin, String(cp.treeSize), toBase64(cp.rootHash), ...time, ...cp.extensions].map((l) => `${l}\n`).join('');
}

/**
 * Parses a checkpoint's note text strictly: at least three lines, a decimal size without leading zeros, a
 * canonical base64 32-byte root, non-empty extension lines, of which a `timestamp` line may only be the first.
 * @throws CustodyError ERR_LOG_CHECKPOINT on any deviation.
 */
export function parseCheckpointText(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw bad('the text does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad(`expected origin, size and root hash lines, got ${lines.length} line(s)`);
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === '') throw bad('empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw bad(`tree size ${quoteBounded(size)} is not a decimal number without leading zeros`);
  const treeSize = Number(size);
  if (!Number.isSafeInteger(treeSize)) throw bad(`tree size ${quoteBounded(size)} is too large`);
  const rootHash = fromBase64(root);
  if (rootHash === undefined) throw bad(`root hash ${quoteBounded(root)} is not canonical base64`);
  if (rootHash.length !== HASH_BYTES) throw bad(`the root hash has ${rootHash.length} bytes, not ${HASH_BYTES}`);
  if (extensions.some((e) => e === '')) throw bad('empty extension line');
  if (extensions.slice(1).some(isTimestampLine)) throw bad('a timestamp line may only come right after the root hash, once');
  if (extensions[0] !== undefined && isTimestampLine(extensions[0])) {
    return { origin, treeSize, rootHash, time: parseTimestamp(extensions[0]), extensions: extensions.slice(1) };
  }
  return { origin, treeSize, rootHash, extensions };
}

/**
 * Parses a signed checkpoint (note text and signature lines) without verifying it.
 * @throws CustodyError ERR_LOG_CHECKPOINT when the note or its text is malformed or carries no signature.
 */
export function parseCheckpoint(note: string | Uint8Array): SignedCheckpoint {
  const parsed = parseSignedNote(note);
  return { checkpoint: parseCheckpointText(parsed.text), text: parsed.text, signatures: parsed.signatures };
}

/**
 * Signs `cp` with the log key: the complete signed note, one signature line.
 * @throws CustodyError ERR_LOG_CHECKPOINT when the checkpoint or key name is invalid; ERR_KEY_ALGORITHM when
 * the key is not P-256; whatever the provider throws when signing fails.
 */
export async function signCheckpoint(cp: Checkpoint, signer: CheckpointSigner, crypto: CryptoProvider): Promise<string> {
  if (signer.key.curve !== 'P-256') {
    throw new CustodyError('ERR_KEY_ALGORITHM', `checkpoint key ${signer.name} is on ${signer.key.curve}; note signature type 0x02 here is P-256`);
  }
  if (!isNoteKeyName(signer.name)) throw bad(`invalid key name ${quoteBounded(signer.name)}`);
  const text = encodeCheckpoint(cp);
  const p1363 = await crypto.sign(signer.key, utf8(text));
  const signature = ecdsaP1363ToDER(p1363);
  return encodeSignedNote({ text, signatures: [{ keyName: signer.name, keyId: ecdsaNoteKeyId(signer.key.spki), signature }] });
}

async function verifyOne(sig: NoteSignature, key: VerifierKey, message: Uint8Array, crypto: CryptoProvider): Promise<void> {
  const pub = await crypto.importPublicKey(key.spki);
  if (pub.curve !== 'P-256') throw badSignature(`trusted key ${key.name} is on ${pub.curve}, not P-256`);
  let p1363: Uint8Array;
  try {
    p1363 = ecdsaDERToP1363(sig.signature, 'P-256');
  } catch (e) {
    throw badSignature(`the signature by ${key.name} is not a DER ECDSA signature`, e);
  }
  if (!(await crypto.verify(pub, message, p1363))) throw badSignature(`the signature by ${key.name} does not verify`);
}

/**
 * Verifies a signed checkpoint against trusted keys, then returns its tree head. Signatures by unknown keys
 * (name and key ID not both matching a trusted key) are ignored, as the signed-note spec requires; every
 * signature by a trusted key must verify, and one of them must be by the key named as the checkpoint's origin.
 * @throws CustodyError ERR_LOG_CHECKPOINT when malformed; ERR_LOG_CHECKPOINT_SIGNATURE when no trusted key signed
 * or a trusted key's signature fails; ERR_LOG_CHECKPOINT_ORIGIN when no trusted key named as the origin signed,
 * or `options.origin` is given and differs.
 */
export async function verifyCheckpoint(
  note: string | Uint8Array,
  trusted: readonly VerifierKey[],
  crypto: CryptoProvider,
  options: { origin?: string } = {},
): Promise<VerifiedCheckpoint> {
  const parsed = parseSignedNote(note);
  const message = utf8(parsed.text);
  const verifiedBy: string[] = [];
  for (const sig of parsed.signatures) {
    const key = trusted.find((k) => k.name === sig.keyName && k.keyId === sig.keyId);
    if (key === undefined) continue;
    await verifyOne(sig, key, message, crypto);
    verifiedBy.push(key.name);
  }
  if (verifiedBy.length === 0) {
    const names = parsed.signatures.map((s) => s.keyName).join(', ');
    throw badSignature(`no signature by a trusted key (signed by ${names})`);
  }
  // The text means nothing until a trusted signature covers it (signed-note), so it is read only now.
  const checkpoint = parseCheckpointText(parsed.text);
  // A log key vouches for its own log only: the key name is the log's origin (C2SP tlog-checkpoint). A trusted key
  // of one log signing a tree head that names another log is no evidence about either.
  if (!verifiedBy.includes(checkpoint.origin)) {
    const why = `checkpoint names log ${JSON.stringify(checkpoint.origin)}, but is signed by the key of ${verifiedBy.map((n) => JSON.stringify(n)).join(', ')}`;
    throw logError('ERR_LOG_CHECKPOINT_ORIGIN', why);
  }
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    const why = `checkpoint is from log ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(options.origin)}`;
    throw logError('ERR_LOG_CHECKPOINT_ORIGIN', why);
  }
  return { checkpoint, verifiedBy };
}
