/**
 * ECDSA signatures as DER `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 2.2.3) and as
 * IEEE P1363 r || s. The decoder is strict: it refuses BER, padding, negative or zero values and trailing data,
 * the encoding tricks Wycheproof lists, so that one signature has exactly one accepted encoding.
 *
 * One encoding is not enough: ECDSA itself is malleable, (r, s) and (r, n - s) both verify. An attestation is
 * named by the hash of its DER, so the twin is a different attestation that verifies; whoever carries a bundle
 * could make one. custody therefore signs only low-S (s <= floor(n/2), the rule of Bitcoin's BIP 146) and
 * refuses high-S attestations. The comparisons here are bytewise against constants, with no BigInt: signing
 * pays one compare (and a subtraction for half of all signatures).
 */
import { CustodyError } from '../errors.js';
import { integer, readIntegerBytes, readOne, seq, children, TAG } from '../asn1/der.js';
import { type CurveName, curveBytes } from './provider.js';

/** A curve's group order n and floor(n/2), big-endian, at the curve's scalar width. */
interface Order {
  readonly n: Uint8Array;
  readonly half: Uint8Array;
}

function orderOf(hex: string): Order {
  const n = Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
  const half = new Uint8Array(n.length);
  for (let i = 0; i < n.length; i++) half[i] = (n[i]! >>> 1) | (i > 0 ? (n[i - 1]! & 1) << 7 : 0);
  return { n, half };
}

/** The group orders of P-256 and P-384 (SEC 2 2.4.2 and 2.5.1; FIPS 186-4 D.1.2.3 and D.1.2.4). */
const ORDER: Readonly<Record<CurveName, Order>> = {
  'P-256': orderOf('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  'P-384': orderOf('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
};

/** Sign of buf[at, at + k.length) - k, both big-endian unsigned of the same width. */
function compareAt(buf: Uint8Array, at: number, k: Uint8Array): number {
  for (let i = 0; i < k.length; i++) {
    const d = buf[at + i]! - k[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function orderFor(p1363: Uint8Array, curve: CurveName): Order {
  const o = ORDER[curve];
  if (o === undefined || p1363.length !== 2 * o.n.length)
    throw new TypeError(`a ${curve} signature is ${2 * curveBytes(curve)} bytes in P1363 form, not ${p1363.length}`);
  return o;
}

/**
 * True when the P1363 signature r || s on `curve` has s <= floor(n/2).
 * @throws TypeError for a signature of the wrong length for `curve`
 */
export function isLowS(p1363: Uint8Array, curve: CurveName): boolean {
  const o = orderFor(p1363, curve);
  return compareAt(p1363, o.n.length, o.half) <= 0;
}

/**
 * True when the big-endian unsigned value buf[start, end) (a DER INTEGER's content, leading zero allowed) is at
 * most floor(n/2) of `curve`: `isLowS` for an s read in place from DER.
 */
export function isLowSValue(buf: Uint8Array, start: number, end: number, curve: CurveName): boolean {
  const half = ORDER[curve].half;
  while (start < end && buf[start] === 0) start++;
  const len = end - start;
  if (len !== half.length) return len < half.length;
  return compareAt(buf, start, half) <= 0;
}

/**
 * The low-S form of a P1363 signature r || s on `curve`: the signature itself when s <= floor(n/2), else a new
 * r || (n - s), which verifies the same. Every signature custody makes passes through here.
 * @throws TypeError for a signature of the wrong length for `curve`, or with s >= n (not a signature)
 */
export function toLowS(p1363: Uint8Array, curve: CurveName): Uint8Array {
  const o = orderFor(p1363, curve);
  const w = o.n.length;
  if (compareAt(p1363, w, o.half) <= 0) return p1363;
  if (compareAt(p1363, w, o.n) >= 0) throw new TypeError(`the s of this ${curve} signature is not below the group order`);
  const out = p1363.slice(); // measured cheaper than a new array and a copy of r
  let borrow = 0;
  for (let i = w - 1; i >= 0; i--) {
    const d = o.n[i]! - p1363[w + i]! - borrow;
    out[w + i] = d & 0xff;
    borrow = d < 0 ? 1 : 0;
  }
  return out;
}

function bad(what: string): CustodyError {
  return new CustodyError('ERR_SIGNATURE_ENCODING', `ECDSA signature: ${what}`);
}

/** P1363 r || s to DER. */
export function ecdsaP1363ToDER(sig: Uint8Array): Uint8Array {
  const half = sig.length / 2;
  return seq(integer(sig.subarray(0, half)), integer(sig.subarray(half)));
}

/** Strict DER to P1363 for `curve`; throws ERR_SIGNATURE_ENCODING on any deviation from DER. */
export function ecdsaDERToP1363(der: Uint8Array, curve: CurveName): Uint8Array {
  const w = curveBytes(curve);
  let parts;
  try {
    const outer = readOne(der, TAG.SEQUENCE);
    parts = children(outer.value);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (parts.length !== 2) throw bad('expected two integers');
  // r and s are written straight into one array: a signature is converted per attestation verified.
  const out = new Uint8Array(2 * w);
  for (let k = 0; k < 2; k++) {
    let v: Uint8Array;
    try {
      v = readIntegerBytes(parts[k]!);
    } catch (e) {
      throw bad((e as Error).message);
    }
    if (v[0]! & 0x80) throw bad('negative value');
    const skip = v.length > 1 && v[0] === 0 ? 1 : 0;
    const len = v.length - skip;
    if (len > w) throw bad('value too large');
    let zero = true;
    for (let i = 0; i < len; i++) {
      const b = v[skip + i]!;
      out[k * w + w - len + i] = b;
      if (b !== 0) zero = false;
    }
    if (zero) throw bad('zero value');
  }
  return out;
}
