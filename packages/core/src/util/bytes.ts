/** Byte helpers that run the same in Node and in a browser (no Buffer). */
import { utf8Bytes } from './slab.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/** Bytes of a hex string; throws TypeError on odd length or a non-hex character. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('not a hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** One array holding all `parts` in order. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Node's memcmp of two byte arrays, where there is one (a browser has none: the loop below serves). */
const nativeCompare = (globalThis as { Buffer?: { compare(a: Uint8Array, b: Uint8Array): number } }).Buffer?.compare;

/** Byte-wise equality (not constant time: use only on public data). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  // Certificates recur in every bundle and are compared whole (caches keyed by bytes): natively, past a few words.
  if (a.length >= 64 && nativeCompare) return nativeCompare(a, b) === 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  const g = globalThis as { Buffer?: { from(b: Uint8Array): { toString(enc: string): string } } };
  // A view, not a copy: Buffer.from(Uint8Array) would copy the bytes first.
  if (g.Buffer)
    return (g.Buffer as unknown as { from(b: ArrayBufferLike, o: number, l: number): { toString(enc: string): string } })
      .from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      .toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=';
    s += i + 2 < bytes.length ? B64[n & 63]! : '=';
  }
  return s;
}

/**
 * Strict base64 decoding: canonical padding, no whitespace, no stray characters.
 * Returns undefined for anything else, so that callers name the field in their own error.
 */
export function fromBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0) return undefined;
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array & { toString(enc: string): string } } };
  if (g.Buffer) {
    // Node's decoder skips characters outside the alphabet: re-encoding and comparing keeps this strict.
    const b = g.Buffer.from(s, 'base64');
    return b.toString('base64') === s ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : undefined;
  }
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const n = (s.length / 4) * 3 - pad;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      const isPad = c === 61 && i + 4 === s.length && j >= 4 - pad;
      const d = isPad ? 0 : c < 128 ? B64_INDEX[c]! : -1;
      if (d < 0) return undefined;
      v = (v << 6) | d;
    }
    if (o < n) out[o++] = (v >> 16) & 255;
    if (o < n) out[o++] = (v >> 8) & 255;
    if (o < n) out[o++] = v & 255;
  }
  // Non-canonical encodings (stray bits in the last symbol) are refused: one bundle, one byte string.
  if (toBase64(out) !== s) return undefined;
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of a string (small ones share a slab: see slab.ts). */
export function utf8(s: string): Uint8Array {
  return utf8Bytes(s);
}

/** The string of UTF-8 bytes; throws TypeError on invalid UTF-8. */
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}
