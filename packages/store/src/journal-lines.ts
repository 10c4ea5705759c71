/**
 * The journal's line format, `<crc32 of the JSON, 8 hex> <JSON>\n`: encoding a group of records into one buffer,
 * checking a line's checksum and decoding it. The journal (journal.ts) owns the files; this owns the bytes.
 */
import { crc32 } from 'node:zlib';

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/** The longest run the journal reads at once (its `readMany`): a scratch buffer for it is kept. */
export const RUN_BYTES = 4 * 1024 * 1024;

/** Scratch buffers up to this size are kept for the next read or append; larger ones are used once. */
const SCRATCH_KEPT = RUN_BYTES + 1024 * 1024;

/**
 * A buffer reused for one purpose (the bytes of one append, or of one read): a batch's megabytes are not
 * allocated afresh for every chunk, each allocation that large being new pages of memory to fault in. Whatever
 * it hands out is only valid until its next call.
 */
export class Scratch {
  private buf = Buffer.alloc(0);

  take(n: number): Buffer {
    if (n > SCRATCH_KEPT) return Buffer.allocUnsafe(n);
    if (this.buf.length < n) this.buf = Buffer.allocUnsafe(Math.min(SCRATCH_KEPT, Math.max(n, 2 * this.buf.length)));
    return this.buf.subarray(0, n);
  }
}

/**
 * A record already in its JSON text, for a writer that can build it faster than JSON.stringify (which scans
 * every character of a long base64 string for escapes). The text, its parts end to end, must be exactly one JSON
 * object; the parts are written one after the other, so a long one is never copied into a joined string. `ascii`
 * promises that they hold no character past U+007F: their UTF-8 is then their Latin-1, written without measuring.
 */
export class EncodedRecord {
  readonly parts: readonly string[];

  constructor(
    parts: string | readonly string[],
    readonly ascii = false,
  ) {
    this.parts = typeof parts === 'string' ? [parts] : parts;
  }

  /** The whole text. */
  get json(): string {
    return this.parts.join('');
  }
}

/**
 * The journal lines of `records`, written into one buffer from `alloc`: each JSON encoded to UTF-8 once, its CRC
 * over those bytes.
 */
export function encodeLines(records: readonly (object | EncodedRecord)[], alloc: (n: number) => Buffer): { bytes: Buffer; lengths: number[] } {
  const texts = records.map((r) => (r instanceof EncodedRecord ? r.parts : [JSON.stringify(r)]));
  const ascii = records.map((r) => r instanceof EncodedRecord && r.ascii);
  const lengths = texts.map((parts, i) => parts.reduce((n, p) => n + (ascii[i] ? p.length : Buffer.byteLength(p)), 10));
  const bytes = alloc(lengths.reduce((n, l) => n + l, 0));
  let at = 0;
  texts.forEach((parts, i) => {
    const end = at + lengths[i]!;
    let to = at + 9;
    for (const p of parts) to += bytes.write(p, to, ascii[i] ? 'latin1' : 'utf8');
    bytes.write(hex8(crc32(bytes.subarray(at + 9, end - 1))), at, 'latin1');
    bytes[at + 8] = 0x20;
    bytes[end - 1] = 0x0a;
    at = end;
  });
  return { bytes, lengths };
}

/** The 8 lower-case hex digits at `buf[at]` as a number, or -1 when they are not that. */
function readHex8(buf: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 8; i++) {
    const c = buf[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    n = n * 16 + d;
  }
  return n;
}

/** True when `buf[start, end)`, a line without its newline, has the `<crc32> <JSON>` form and the CRC matches. */
export function lineIntact(buf: Buffer, start: number, end: number): boolean {
  return end - start > 9 && buf[start + 8] === 0x20 && crc32(buf.subarray(start + 9, end)) === readHex8(buf, start);
}

/**
 * The record of a whole line (checksum verified), or undefined for a damaged one. With `cut` (the bytes
 * `,"<field>":`), a record that holds that top-level field is read without it and whatever follows it: the
 * field must be the record's last, and no field before it may hold an object with a key of that name.
 */
export function decodeLine(buf: Buffer, cut?: Buffer): { value: unknown } | 'checksum mismatch' | 'not JSON' {
  if (buf.length < 11 || buf[buf.length - 1] !== 0x0a || !lineIntact(buf, 0, buf.length - 1)) return 'checksum mismatch';
  const at = cut === undefined ? -1 : buf.indexOf(cut, 10);
  // Within a JSON string a quote is escaped, so `,"<field>":` can only be the field itself.
  return parseJSON(at >= 0 ? `${buf.toString('utf8', 9, at)}}` : buf.toString('utf8', 9, buf.length - 1));
}

/** A line's JSON, or 'not JSON' (a line whose checksum matches but whose text does not parse: a bug's write). */
export function parseJSON(text: string): { value: unknown } | 'not JSON' {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return 'not JSON';
  }
}
