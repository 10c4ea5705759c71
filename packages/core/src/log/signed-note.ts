/**
 * The C2SP signed-note format (c2sp.org/signed-note): a text ending in a newline, a blank line, then one line
 * per signature, `— <key name> <base64(4-byte key ID || signature)>` (U+2014 EM DASH). Only the syntax lives
 * here; which keys and algorithms are trusted is `checkpoint.ts`'s business.
 */
import { quoteBounded } from '../util/strict-json.js';
import { logError } from './log-errors.js';
import { fromBase64, fromUtf8, toBase64 } from '../util/bytes.js';

/** One signature line of a note. */
export interface NoteSignature {
  readonly keyName: string;
  /** The uint32 key ID, big-endian on the wire. */
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** A note: its text (ending in a newline, signed byte for byte) and its signatures. */
export interface SignedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** The most signatures a note may carry here (the spec asks verifiers to accept at least 16). */
export const NOTE_MAX_SIGNATURES = 32;

const DASH = '\u2014 ';
// A string that cannot be encoded as UTF-8 (what a decoder with { fatal: true } would refuse).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `name` is a valid key name: non-empty, no Unicode space, no plus sign, no control character. */
export function isNoteKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0000-\u001f\u007f]/u.test(name);
}

function bad(why: string): Error {
  return logError('ERR_LOG_CHECKPOINT', `signed note: ${why}`);
}

function parseSignatureLine(line: string, n: number): NoteSignature {
  if (!line.startsWith(DASH)) throw bad(`signature line ${n} does not start with an em dash and a space`);
  const rest = line.slice(DASH.length);
  const space = rest.indexOf(' ');
  const keyName = space < 0 ? rest : rest.slice(0, space);
  if (space < 0 || !isNoteKeyName(keyName)) throw bad(`signature line ${n} has no valid key name`);
  const bytes = fromBase64(rest.slice(space + 1));
  if (bytes === undefined) throw bad(`signature line ${n} (${quoteBounded(keyName)}) is not canonical base64`);
  if (bytes.length < 5) throw bad(`signature line ${n} (${quoteBounded(keyName)}) is too short`);
  const keyId = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  return { keyName, keyId, signature: bytes.slice(4) };
}

/**
 * Parses a signed note strictly: UTF-8, no control characters but newline, a text ending in a newline, a blank
 * line, 1 to NOTE_MAX_SIGNATURES well-formed signature lines each ending in a newline.
 * @throws CustodyError ERR_LOG_CHECKPOINT on any deviation.
 */
export function parseSignedNote(note: string | Uint8Array): SignedNote {
  let s: string;
  try {
    s = typeof note === 'string' ? note : fromUtf8(note);
  } catch (e) {
    throw logError('ERR_LOG_CHECKPOINT', 'signed note: not valid UTF-8', e);
  }
  if (/[\u0000-\u0009\u000b-\u001f]/.test(s)) throw bad('contains a control character');
  if (LONE_SURROGATE.test(s)) throw bad('not valid UTF-8 (lone surrogate)');
  // The text runs up to the last blank line: that is, the last "\n\n" in the note.
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw bad('no blank line before the signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (!block.endsWith('\n')) throw bad(block === '' ? 'no signature' : 'the last signature line does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > NOTE_MAX_SIGNATURES) throw bad(`more than ${NOTE_MAX_SIGNATURES} signatures`);
  return { text, signatures: lines.map((l, i) => parseSignatureLine(l, i + 1)) };
}

/**
 * The note as text: body, blank line, signature lines.
 * @throws CustodyError ERR_LOG_CHECKPOINT when the text does not end in a newline, contains a control character,
 * a key name is invalid, or there is no signature.
 */
export function encodeSignedNote(note: SignedNote): string {
  if (!note.text.endsWith('\n')) throw bad('the text must end in a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note.text)) throw bad('the text contains a control character');
  if (note.signatures.length === 0) throw bad('no signature');
  let out = `${note.text}\n`;
  for (const sig of note.signatures) {
    if (!isNoteKeyName(sig.keyName)) throw bad(`invalid key name ${quoteBounded(sig.keyName)}`);
    if (!Number.isInteger(sig.keyId) || sig.keyId < 0 || sig.keyId > 0xffffffff) throw bad(`key ID of ${sig.keyName} is not a uint32`);
    const bytes = new Uint8Array(4 + sig.signature.length);
    new DataView(bytes.buffer).setUint32(0, sig.keyId);
    bytes.set(sig.signature, 4);
    out += `${DASH}${sig.keyName} ${toBase64(bytes)}\n`;
  }
  return out;
}
