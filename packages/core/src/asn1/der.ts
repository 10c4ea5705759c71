/**
 * A small, strict DER reader and writer (X.690 section 10). It exists for the hot paths (issuing and verifying
 * thousands of certificates and attestations a second) and for strictness: definite, minimal lengths only,
 * no trailing bytes. It is the only DER reader of custody: pkijs/asn1js serve the tests as a reference.
 *
 * Limits, each checked before the work it bounds, so that no input costs more than linear time and bounded memory:
 * - a declared length longer than the bytes that remain is refused at once (nothing is allocated for it);
 * - lengths take at most 4 octets; tags are single-octet, and tag 0 (end-of-contents, BER only) is refused;
 * - `children` returns at most `MAX_CHILDREN` elements unless its caller passes a larger bound (a CRL's revoked list);
 * - `checkDER` descends at most `MAX_DEPTH` levels of constructed encodings and visits at most `MAX_ELEMENTS` TLVs.
 * Every failure is a CustodyError `ERR_DER`; the parsers above rewrap it in their own code.
 */
import { CustodyError } from '../errors.js';
import { concatBytes, utf8 } from '../util/bytes.js';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One decoded TLV: `value` is a view into the input, `raw` the whole encoding. */
export interface TLV {
  tag: number;
  value: Uint8Array;
  raw: Uint8Array;
}

/** Most elements `children` returns by default: more than any certificate, CSR or CMS structure needs. */
export const MAX_CHILDREN = 1024;
/** Deepest nesting of constructed encodings `checkDER` accepts. */
export const MAX_DEPTH = 32;
/** Most TLVs `checkDER` visits in one value. */
export const MAX_ELEMENTS = 65_536;

function malformed(what: string): CustodyError {
  return new CustodyError('ERR_DER', `malformed DER: ${what}`);
}

/** Where one TLV lies in its buffer: `start` and `end` bound the value; the header runs from the offset read. */
export interface TLVSpan {
  tag: number;
  start: number;
  end: number;
}

/**
 * Reads the header of the TLV at `offset` into `out` (single-byte tags only, all that X.509/CMS use; minimal
 * definite lengths), making no views: for walks that must not allocate, such as a registry reading its own
 * records thousands of times a second.
 */
export function readSpan(buf: Uint8Array, offset: number, out: TLVSpan): TLVSpan {
  if (offset + 2 > buf.length) throw malformed('truncated header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw malformed('multi-byte tag');
  if (tag === 0) throw malformed('end-of-contents tag');
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw malformed('indefinite length');
    if (n > 4) throw malformed('length too long');
    if (p + n > buf.length) throw malformed('truncated length');
    if (buf[p] === 0) throw malformed('non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    if (len < 0x80) throw malformed('non-minimal length');
    p += n;
  }
  if (p + len > buf.length) throw malformed('truncated value');
  out.tag = tag;
  out.start = p;
  out.end = p + len;
  return out;
}

const scratch: TLVSpan = { tag: 0, start: 0, end: 0 };

/** Reads the TLV at `offset`, as `readSpan` does, with views of its value and of its whole encoding. */
export function readTLV(buf: Uint8Array, offset = 0): TLV {
  const { tag, start, end } = readSpan(buf, offset, scratch);
  return new Element(tag, buf.subarray(start, end), buf, offset, end);
}

/**
 * A TLV whose view of its whole encoding (`raw`) is made when first read: most elements of a certificate are read
 * by their value only, and a view costs an object (and its garbage) per element. Own properties as a literal TLV's
 * but `raw`, an accessor here.
 */
class Element implements TLV {
  readonly #buf: Uint8Array;
  readonly #offset: number;
  readonly #end: number;
  #raw: Uint8Array | undefined;

  constructor(
    public tag: number,
    public value: Uint8Array,
    buf: Uint8Array,
    offset: number,
    end: number,
  ) {
    this.#buf = buf;
    this.#offset = offset;
    this.#end = end;
  }

  get raw(): Uint8Array {
    return (this.#raw ??= this.#buf.subarray(this.#offset, this.#end));
  }

  set raw(v: Uint8Array) {
    this.#raw = v;
  }

  /** The length of the whole encoding (the read length until `raw` is set), without making its view. */
  get rawLength(): number {
    return this.#raw === undefined ? this.#end - this.#offset : this.#raw.length;
  }
}

/** Decodes exactly one TLV spanning all of `buf`. */
export function readOne(buf: Uint8Array, expectTag?: number): TLV {
  const t = readTLV(buf, 0);
  if ((t as Element).rawLength !== buf.length) throw malformed('trailing bytes');
  if (expectTag !== undefined && t.tag !== expectTag) throw malformed(`expected tag 0x${expectTag.toString(16)}, found 0x${t.tag.toString(16)}`);
  return t;
}

/**
 * The TLVs inside a constructed value, in order.
 * @throws CustodyError ERR_DER on a malformed element or more than `max` elements (default `MAX_CHILDREN`)
 */
export function children(value: Uint8Array, max: number = MAX_CHILDREN): TLV[] {
  const out: TLV[] = [];
  let p = 0;
  while (p < value.length) {
    if (out.length === max) throw malformed(`more than ${max} elements`);
    const t = readTLV(value, p);
    out.push(t);
    p += (t as Element).rawLength;
  }
  return out;
}

const walk: TLVSpan = { tag: 0, start: 0, end: 0 };

/**
 * Checks that `buf` is a sequence of well-formed DER TLVs, descending into every constructed one: for the
 * `ANY` fields (algorithm parameters, extension values, otherName values) that no decoder reads further.
 * Iterative, with an explicit stack, so that nesting costs no call stack.
 * @throws CustodyError ERR_DER on a malformed TLV, nesting deeper than `MAX_DEPTH` or more than `MAX_ELEMENTS` TLVs
 */
export function checkDER(buf: Uint8Array): void {
  const ends: number[] = [buf.length];
  let p = 0;
  let count = 0;
  while (ends.length > 0) {
    if (p === ends[ends.length - 1]) {
      ends.pop();
      continue;
    }
    if (++count > MAX_ELEMENTS) throw malformed(`more than ${MAX_ELEMENTS} elements`);
    readSpan(buf, p, walk);
    if (walk.end > ends[ends.length - 1]!) throw malformed('element overruns its parent');
    if (walk.tag & 0x20) {
      if (ends.length > MAX_DEPTH) throw malformed(`nesting deeper than ${MAX_DEPTH}`);
      ends.push(walk.end);
      p = walk.start;
    } else p = walk.end;
  }
}

/** Children of `t`, checking its tag and, when given, the count. */
export function expectSeq(t: TLV, tag: number = TAG.SEQUENCE, min = 0, max = Infinity): TLV[] {
  if (t.tag !== tag) throw malformed(`expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`);
  const c = children(t.value);
  if (c.length < min || c.length > max) throw malformed(`unexpected element count ${c.length}`);
  return c;
}

/** The magnitude bytes of a DER INTEGER, refusing non-minimal encodings. */
export function readIntegerBytes(t: TLV): Uint8Array {
  if (t.tag !== TAG.INTEGER) throw malformed('expected INTEGER');
  const v = t.value;
  if (v.length === 0) throw malformed('empty INTEGER');
  if (v.length > 1 && ((v[0] === 0 && !(v[1]! & 0x80)) || (v[0] === 0xff && v[1]! & 0x80))) throw malformed('non-minimal INTEGER');
  return v;
}

/** A small non-negative INTEGER as a number. */
export function readSmallInt(t: TLV): number {
  const v = readIntegerBytes(t);
  if (v[0]! & 0x80 || v.length > 6) throw malformed('INTEGER out of range');
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/**
 * Dotted forms already decoded, keyed by the content octets read as Latin-1: certificates repeat a few dozen
 * OIDs, and building the dotted string again costs more than the rest of the walk. Bounded, so that hostile input
 * cannot grow it.
 */
const oidSeen = new Map<string, string>();
const OID_SEEN_MAX = 512;

/** Dotted string of an OBJECT IDENTIFIER (X.690 8.19: minimal arcs, last octet closes the last arc). */
export function readOID(t: TLV): string {
  if (t.tag !== TAG.OID) throw malformed('expected OBJECT IDENTIFIER');
  return readOIDAt(t.value, 0, t.value.length);
}

/** `readOID` of the content octets `buf[start..end)`, making no views. */
export function readOIDAt(buf: Uint8Array, start: number, end: number): string {
  if (end - start === 0) throw malformed('empty OID');
  if (end - start > 64) throw malformed('OID longer than 64 octets');
  let k = '';
  for (let i = start; i < end; i++) k += String.fromCharCode(buf[i]!);
  const hit = oidSeen.get(k);
  if (hit !== undefined) return hit;
  const v = buf.subarray(start, end);
  const arcs: number[] = [];
  let n = 0;
  let started = false;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (!started && b === 0x80) throw malformed('non-minimal OID arc');
    started = true;
    n = n * 128 + (b & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 128) throw malformed('OID arc too large');
    if (!(b & 0x80)) {
      arcs.push(n);
      n = 0;
      started = false;
    }
  }
  if (started) throw malformed('truncated OID');
  const first = arcs.shift()!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  const dotted = [...head, ...arcs].join('.');
  if (oidSeen.size < OID_SEEN_MAX) oidSeen.set(k, dotted);
  return dotted;
}

/** Contents of a BIT STRING with no unused bits (keys and signatures: RFC 5280 4.1.1.3, 4.1.2.7). */
export function readBitStringBytes(t: TLV): Uint8Array {
  if (t.tag !== TAG.BIT_STRING) throw malformed('expected BIT STRING');
  if (t.value.length === 0 || t.value[0] !== 0) throw malformed('BIT STRING with unused bits');
  return t.value.subarray(1);
}

// ---- writer ----

/** One TLV around the concatenation of `parts`: one allocation, each part copied once. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const lenBytes = n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
  const out = new Uint8Array(1 + lenBytes + n);
  out[0] = tag;
  if (lenBytes === 1) out[1] = n;
  else {
    out[1] = 0x80 | (lenBytes - 1);
    for (let i = lenBytes - 1, v = n; i >= 1; i--, v = Math.floor(v / 256)) out[1 + i] = v & 0xff;
  }
  let o = 1 + lenBytes;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...parts);

/** SET OF: DER orders the elements by their encodings (X.690 11.6). */
export function setOf(...parts: Uint8Array[]): Uint8Array {
  const sorted = [...parts].sort(compareBytes);
  return tlv(TAG.SET, ...sorted);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** INTEGER from unsigned big-endian magnitude bytes (adds or strips leading zeros as DER needs). */
export function integer(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let m = magnitude.subarray(i);
  if (m.length === 0) m = Uint8Array.of(0);
  if (m[0]! & 0x80) m = concatBytes(Uint8Array.of(0), m);
  return tlv(TAG.INTEGER, m);
}

/** INTEGER from a small non-negative number. */
export function smallInt(n: number): Uint8Array {
  const bytes: number[] = [];
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  return integer(Uint8Array.from(bytes));
}

const oidCache = new Map<string, Uint8Array>();

/** OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Uint8Array {
  const hit = oidCache.get(dotted);
  if (hit) return hit;
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new TypeError(`bad OID ${dotted}`);
  const out: number[] = [];
  const enc = (n: number) => {
    const tmp = [n & 0x7f];
    n = Math.floor(n / 128);
    while (n > 0) {
      tmp.unshift((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(...tmp);
  };
  enc(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) enc(a);
  const der = tlv(TAG.OID, Uint8Array.from(out));
  oidCache.set(dotted, der);
  return der;
}

export const nullValue = (): Uint8Array => Uint8Array.of(0x05, 0x00);
export const octetString = (b: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, b);
export const bitString = (b: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(0), b);
export const utf8String = (s: string): Uint8Array => tlv(TAG.UTF8_STRING, utf8(s));
export const printableString = (s: string): Uint8Array => tlv(TAG.PRINTABLE_STRING, utf8(s));
export const ia5String = (s: string): Uint8Array => tlv(TAG.IA5_STRING, utf8(s));
export const boolean = (v: boolean): Uint8Array => Uint8Array.of(0x01, 0x01, v ? 0xff : 0x00);
/** [n] EXPLICIT or constructed context tag. */
export const explicit = (n: number, ...parts: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...parts);
/** [n] IMPLICIT primitive context tag. */
export const implicitPrimitive = (n: number, value: Uint8Array): Uint8Array => tlv(0x80 | n, value);

/** True when PrintableString can carry `s` (X.680 41.4). */
export function isPrintable(s: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** UTCTime YYMMDDHHMMSSZ (RFC 5280 4.1.2.5.1: years 1950 to 2049). */
export function utcTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  if (y < 1950 || y > 2049) throw new TypeError('UTCTime out of range');
  const s = `${pad(y % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(TAG.UTC_TIME, utf8(s));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ, no fractional seconds (RFC 5280 4.1.2.5.2). */
export function generalizedTime(d: Date): Uint8Array {
  const s = `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(TAG.GENERALIZED_TIME, utf8(s));
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050. */
export function x509Time(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  return y >= 1950 && y <= 2049 ? utcTime(d) : generalizedTime(d);
}

/** Two decimal digits at `i` of `v`, or -1 when either is not a digit. */
function digits2(v: Uint8Array, i: number): number {
  const a = v[i]! - 0x30;
  const b = v[i + 1]! - 0x30;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** At most the first 20 characters of a value, for error messages: the value may be megabytes long. */
function preview(v: Uint8Array): string {
  let s = '';
  for (let i = 0; i < v.length && i < 20; i++) s += v[i]! >= 0x20 && v[i]! < 0x7f ? String.fromCharCode(v[i]!) : '?';
  return v.length > 20 ? `${s}...` : s;
}

/**
 * Decodes a DER UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ, year 0001 or later), the only forms
 * RFC 5280 4.1.2.5 allows. The length is checked first: a time value is 13 or 15 bytes, whatever its declared size.
 * @throws CustodyError ERR_DER on any other form or an impossible date
 */
export function readTime(t: TLV): Date {
  const v = t.value;
  let year: number;
  let o: number;
  if (t.tag === TAG.UTC_TIME) {
    if (v.length !== 13 || v[12] !== 0x5a) throw malformed(`bad UTCTime "${preview(v)}"`);
    const yy = digits2(v, 0);
    if (yy < 0) throw malformed(`bad UTCTime "${preview(v)}"`);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    o = 2;
  } else if (t.tag === TAG.GENERALIZED_TIME) {
    if (v.length !== 15 || v[14] !== 0x5a) throw malformed(`bad GeneralizedTime "${preview(v)}"`);
    const hi = digits2(v, 0);
    const lo = digits2(v, 2);
    if (hi < 0 || lo < 0) throw malformed(`bad GeneralizedTime "${preview(v)}"`);
    year = hi * 100 + lo;
    if (year === 0) throw malformed('GeneralizedTime year 0000');
    o = 4;
  } else throw malformed('expected a time');
  const mo = digits2(v, o);
  const d = digits2(v, o + 2);
  const h = digits2(v, o + 4);
  const mi = digits2(v, o + 6);
  const se = digits2(v, o + 8);
  if (mo < 1 || d < 1 || h < 0 || mi < 0 || se < 0 || h > 23 || mi > 59 || se > 59) throw malformed(`invalid date "${preview(v)}"`);
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se));
  if (year < 100) date.setUTCFullYear(year);
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) throw malformed(`invalid date "${preview(v)}"`);
  return date;
}
