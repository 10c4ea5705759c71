/**
 * Canonical JSON as TUF signs it (the OLPC canonical form securesystemslib and python-tuf use): object members
 * sorted by name, no whitespace, strings escaping only `"` and `\`, and numbers only as integers. Another byte
 * for the same value would break the signature, so anything outside that form is refused rather than guessed.
 */
import { CustodyError } from '../errors.js';

function fail(what: string): never {
  throw new CustodyError('ERR_TUF_CANONICAL', `TUF canonical JSON: ${what}`);
}

function encodeString(s: string): string {
  // Only the quote and the backslash are escaped: every other character, control characters included, is
  // written as it is (UTF-8 once encoded), which is what the TUF reference implementations hash.
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The canonical JSON text of `value`: what a TUF role's signature covers (the `signed` object).
 * @throws ERR_TUF_CANONICAL for a non-integer or unsafe number, or a value JSON cannot carry
 */
export function tufCanonicalJSON(value: unknown, depth = 0): string {
  if (depth > 64) fail('nested too deeply');
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return encodeString(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) fail(`${value} is not an integer TUF can sign`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => tufCanonicalJSON(v, depth + 1)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    // Sorted by UTF-16 code units, as the reference implementations sort their (mostly ASCII) member names.
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${encodeString(k)}:${tufCanonicalJSON(v, depth + 1)}`).join(',')}}`;
  }
  return fail(`a ${typeof value} cannot be encoded`);
}
