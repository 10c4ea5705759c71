/**
 * The verdicts of a pallet's piece as a verifying thread sends them back: the reports' checks as numbers into one
 * table of the piece's distinct strings. A piece's reports repeat the same check names and, for bundles of one
 * supply chain, the same reasons, so the structured clone that carries them copies each string once instead of
 * once per report, and the receiving thread (which also verifies) builds shared strings instead of new ones.
 * A check equal to the one at the same position of the report before is sent as a mark only. Decoding gives back
 * reports equal to the encoded ones, with their keys in the same order (the --json output is the same text).
 */
import type { VerificationCheck, VerificationReport } from '@custody/core';

/** One report, as the codec knows it: its file and its report. */
export interface EncodableVerdict {
  file: string;
  report: VerificationReport;
}

/** A piece's verdicts, encoded. */
export interface EncodedVerdicts {
  /** Each verdict's file and its report without `checks` (null in its place, to keep the order of the keys). */
  readonly heads: ReadonlyArray<{ file: string; report: Omit<VerificationReport, 'checks'> & { checks: null } }>;
  /** The distinct strings of the checks that are not repeats: names, reasons, codes. */
  readonly strings: readonly string[];
  /**
   * Per report: its check count, then per check either REPEAT (the check at the same position in the report
   * before is equal: most of a pallet's checks are) or its shape (its keys in order, one octal digit each), then
   * each value (a string's index, 0/1, a number).
   */
  readonly data: Int32Array;
}

/** The check keys and how their values are written; a key's digit in a shape is its position here plus one. */
const KEYS = ['name', 'ok', 'reason', 'code', 'attestation'] as const;
const KINDS = ['string', 'boolean', 'string', 'string', 'number'] as const;
const DIGIT: Readonly<Record<string, number>> = { name: 1, ok: 2, reason: 3, code: 4, attestation: 5 };
const REPEAT = 0;

/** The check's shape, or -1 when it holds a key or a value the codec does not write. */
function shapeOf(c: VerificationCheck): number {
  let shape = 0;
  for (const k in c) {
    const d = DIGIT[k];
    if (d === undefined) return -1;
    const v = (c as unknown as Record<string, unknown>)[k];
    if (typeof v !== KINDS[d - 1] || (d === 5 && !Number.isInteger(v))) return -1;
    shape = shape * 8 + d;
  }
  return shape;
}

function sameCheck(a: VerificationCheck | undefined, b: VerificationCheck): boolean {
  return (
    a !== undefined &&
    a.name === b.name &&
    a.ok === b.ok &&
    a.reason === b.reason &&
    a.code === b.code &&
    a.attestation === b.attestation &&
    shapeOf(a) === shapeOf(b)
  );
}

/**
 * Encodes a piece's verdicts, or returns them as they are when a check holds something the codec does not write
 * (structured clone then carries it faithfully).
 */
export function encodeVerdicts<V extends EncodableVerdict>(verdicts: readonly V[]): EncodedVerdicts | readonly V[] {
  const index = new Map<string, number>();
  const strings: string[] = [];
  const id = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    return i;
  };
  const data: number[] = [];
  let before: readonly VerificationCheck[] = [];
  const heads: Array<EncodedVerdicts['heads'][number]> = [];
  for (const v of verdicts) {
    const checks = v.report.checks;
    data.push(checks.length);
    for (const [i, c] of checks.entries()) {
      if (sameCheck(before[i], c)) {
        data.push(REPEAT);
        continue;
      }
      const shape = shapeOf(c);
      if (shape <= 0) return verdicts;
      data.push(shape);
      for (const k in c) {
        const value = (c as unknown as Record<string, unknown>)[k];
        data.push(typeof value === 'string' ? id(value) : typeof value === 'boolean' ? (value ? 1 : 0) : (value as number));
      }
    }
    before = checks;
    heads.push({ file: v.file, report: { ...v.report, checks: null } });
  }
  return { heads, strings, data: Int32Array.from(data) };
}

/** The verdicts `encodeVerdicts` encoded (or passed through); a repeated check is the same object in both reports. */
export function decodeVerdicts(e: EncodedVerdicts | readonly EncodableVerdict[]): EncodableVerdict[] {
  if (Array.isArray(e)) return e as EncodableVerdict[];
  const { heads, strings, data } = e as EncodedVerdicts;
  let at = 0;
  let before: VerificationCheck[] = [];
  return heads.map((h) => {
    const checks: VerificationCheck[] = new Array(data[at++]!);
    for (let i = 0; i < checks.length; i++) {
      const shape = data[at++]!;
      if (shape === REPEAT) {
        checks[i] = before[i]!;
        continue;
      }
      const digits: number[] = [];
      for (let s = shape; s > 0; s = Math.floor(s / 8)) digits.unshift(s % 8);
      const c: Record<string, unknown> = {};
      for (const d of digits) {
        const raw = data[at++]!;
        const kind = KINDS[d - 1];
        c[KEYS[d - 1]!] = kind === 'string' ? strings[raw] : kind === 'boolean' ? raw === 1 : raw;
      }
      checks[i] = c as unknown as VerificationCheck;
    }
    before = checks;
    const report = h.report as unknown as { checks: VerificationCheck[] };
    report.checks = checks;
    return { file: h.file, report: report as unknown as VerificationReport };
  });
}
