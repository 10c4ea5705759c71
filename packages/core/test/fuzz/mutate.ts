/**
 * Seeded mutators of DER inputs, shared by the parser mutation tests and the long `npm run fuzz` harness:
 * `mutations(seed, input, n)` yields `n` mutated copies of `input`, the same ones for the same seed.
 *
 * Kinds: bit flips, byte overwrites with boundary values, TLV length edits (a length byte changed, a short length
 * made long, a huge declared length), truncation, splices of a slice of the input somewhere else, deletion and
 * duplication of a TLV's bytes, and deep nesting (a value wrapped in hundreds of SEQUENCE headers).
 */

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same mutations on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One mutation: its kind (for reports) and the mutated bytes. */
export interface Mutation {
  readonly kind: string;
  readonly bytes: Uint8Array;
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

/** Offsets of every TLV header in `der`, found by a lenient walk (mutations aim at real length bytes). */
export function headerOffsets(der: Uint8Array): number[] {
  const out: number[] = [];
  const walk = (start: number, end: number, depth: number): void => {
    let p = start;
    while (p + 2 <= end && depth < 64) {
      out.push(p);
      const tag = der[p]!;
      let len = der[p + 1]!;
      let h = 2;
      if (len & 0x80) {
        const n = len & 0x7f;
        if (n === 0 || n > 4 || p + 2 + n > end) return;
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + der[p + 2 + i]!;
        h += n;
      }
      if (p + h + len > end) return;
      if (tag & 0x20) walk(p + h, p + h + len, depth + 1);
      p += h + len;
    }
  };
  walk(0, der.length, 0);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function lengthBytes(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
  return Uint8Array.from([0x80 | b.length, ...b]);
}

const MUTATORS: ReadonlyArray<[string, (r: Rand, d: Uint8Array, h: number[]) => Uint8Array]> = [
  [
    'bit-flip',
    (r, d) => {
      const out = d.slice();
      for (let k = 1 + int(r, 3); k > 0; k--) {
        const i = int(r, out.length);
        out[i]! ^= 1 << int(r, 8);
      }
      return out;
    },
  ],
  [
    'byte-set',
    (r, d) => {
      const out = d.slice();
      out[int(r, out.length)] = [0x00, 0x01, 0x7f, 0x80, 0x81, 0xff, 0x30, 0x31, 0x05, 0x06, 0xa0, 0x1f][int(r, 12)]!;
      return out;
    },
  ],
  [
    'length-edit',
    (r, d, h) => {
      const out = d.slice();
      const p = h[int(r, h.length)]! + 1;
      if (p < out.length) out[p] = (out[p]! + [1, -1, 0x80, 0x7f, 2, -2][int(r, 6)]!) & 0xff;
      return out;
    },
  ],
  [
    'length-huge',
    (r, d, h) => {
      const p = h[int(r, h.length)]!;
      const huge = [
        Uint8Array.of(0x84, 0x06, 0x40, 0x00, 0x00),
        Uint8Array.of(0x84, 0xff, 0xff, 0xff, 0xff),
        Uint8Array.of(0x80),
        Uint8Array.of(0x85, 1, 0, 0, 0, 0),
        Uint8Array.of(0x81, 0x05),
      ][int(r, 5)]!;
      const lenStart = p + 1;
      const n = (d[lenStart] ?? 0) & 0x80 ? 1 + (d[lenStart]! & 0x7f) : 1;
      return concat(d.subarray(0, lenStart), huge, d.subarray(Math.min(d.length, lenStart + n)));
    },
  ],
  ['truncate', (r, d) => d.slice(0, int(r, d.length))],
  [
    'splice',
    (r, d) => {
      const a = int(r, d.length);
      const b = a + int(r, Math.min(64, d.length - a) + 1);
      const at = int(r, d.length + 1);
      return concat(d.subarray(0, at), d.subarray(a, b), d.subarray(at));
    },
  ],
  [
    'delete',
    (r, d, h) => {
      const p = h[int(r, h.length)]!;
      const q = Math.min(d.length, p + 2 + int(r, 40));
      return concat(d.subarray(0, p), d.subarray(q));
    },
  ],
  [
    'duplicate-tlv',
    (r, d, h) => {
      const p = h[int(r, h.length)]!;
      const q = Math.min(d.length, p + 2 + int(r, 80));
      return concat(d.subarray(0, q), d.subarray(p, q), d.subarray(q));
    },
  ],
  [
    'deep-nesting',
    (r, d, h) => {
      const p = h[int(r, h.length)]!;
      const depth = 50 + int(r, 2000);
      let inner: Uint8Array = Uint8Array.of(0x05, 0x00);
      for (let i = 0; i < depth; i++) inner = concat(Uint8Array.of(0x30), lengthBytes(inner.length), inner);
      return concat(d.subarray(0, p), inner, d.subarray(p));
    },
  ],
];

/**
 * `n` mutations of `input`, deterministic for `seed`.
 * @throws TypeError when `input` is empty
 */
export function* mutations(seed: number, input: Uint8Array, n: number): Generator<Mutation> {
  if (input.length === 0) throw new TypeError('mutations of an empty input');
  const r = prng(seed);
  const headers = headerOffsets(input);
  if (headers.length === 0) headers.push(0);
  for (let i = 0; i < n; i++) {
    const [kind, f] = MUTATORS[int(r, MUTATORS.length)]!;
    yield { kind, bytes: f(r, input, headers) };
  }
}
