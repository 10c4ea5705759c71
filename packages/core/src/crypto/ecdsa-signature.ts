/**
 * ECDSA signatures as DER `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 2.2.3) and as
 * IEEE P1363 r || s. The decoder is strict: it refuses BER, padding, negative or zero values and trailing data,
 * the encoding tricks Wycheproof lists, so that one signature has exactly one accepted encoding.
 */
import { CustodyError } from '../errors.js';
import { concatBytes } from '../util/bytes.js';
import { integer, readIntegerBytes, readOne, seq, children, TAG } from '../asn1/der.js';
import { type CurveName, curveBytes } from './provider.js';

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
  const out: Uint8Array[] = [];
  for (const p of parts) {
    let v: Uint8Array;
    try {
      v = readIntegerBytes(p);
    } catch (e) {
      throw bad((e as Error).message);
    }
    if (v[0]! & 0x80) throw bad('negative value');
    if (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > w) throw bad('value too large');
    if (v.every((b) => b === 0)) throw bad('zero value');
    const padded = new Uint8Array(w);
    padded.set(v, w - v.length);
    out.push(padded);
  }
  return concatBytes(out[0]!, out[1]!);
}
