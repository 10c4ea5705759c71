/**
 * Strict JSON for every document custody reads from another party: what `JSON.parse` accepts, minus what two
 * readers could read differently or a JavaScript object cannot hold.
 *
 * - No object holds a member name twice (RFC 8259 section 4 leaves duplicates to the reader; I-JSON, RFC 7493
 *   section 2.3, forbids them). `JSON.parse` keeps the last value, other parsers the first, so a signed
 *   document with two `to` members names one buyer to one tool and another to the next. Names are compared
 *   after unescaping: `"a"` and `"\u0061"` are the same name.
 * - No member is named `__proto__`: `JSON.parse` makes it an own property, but every later copy
 *   (`{...o}`, `out[k] = v`) turns it into the object's prototype, and the member silently disappears.
 * - Arrays and objects nest at most `maxDepth` deep (default 64), so nothing that walks the value
 *   recursively afterwards (validation, error messages) can run out of stack.
 *
 * Error codes: every refusal is a `CustodyError` with the code the caller passes, its own "malformed"
 * code for the document kind (`ERR_BUNDLE_MALFORMED` for a bundle, `ERR_ATTESTATION_STATEMENT` for a
 * statement, `ERR_CHALLENGE_MALFORMED` for a challenge or response, ...), so that a verification report and
 * an exit code stay what they were for any other malformed document of that kind. The message says which rule
 * broke and where: `bundle: duplicate member name "to" in attestations[1].statement.predicate`, and for a text
 * of several lines (written by hand) also ` at line N`; the caller adds the file (`CustodyError.withFile`).
 * Messages quote at most a bounded prefix of any name and never the document.
 *
 * Cost: one pass over the text that looks only at brackets, commas and member names (string values are skipped
 * with `indexOf`), then `JSON.parse` for the values. Linear in the text; on a 6 KB bundle the pass takes about
 * half the time of `JSON.parse` itself (5 to 7 us beside 8 to 11 us), most of it one `indexOf` per string.
 */
import { CustodyError } from '../errors.js';

/** How deep arrays and objects may nest unless the caller says otherwise. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** What `parseStrictJSON` needs to know of the document it reads. */
export interface StrictJSONOptions {
  /** The code of every refusal: the caller's code for a malformed document of this kind. */
  code: string;
  /** What the document is, opening every message: `bundle`, `challenge`, `attestation statement`. */
  what: string;
  /** Deepest nesting of arrays and objects allowed (the top-level value's brackets count as 1). */
  maxDepth?: number;
}

/** Longest prefix of a member name quoted in a message. */
const QUOTE_MAX = 40;
/** Longest field path shown in a message. */
const PATH_MAX = 200;
/** Objects with more members than this are checked with a Set; smaller ones by a scan of an array. */
const SMALL_OBJECT = 16;

/**
 * `s` as a one-line JSON string literal, cut to its first `max` characters (marked with an ellipsis):
 * the one way a message quotes text that came from outside.
 */
export function quoteBounded(s: string, max = QUOTE_MAX): string {
  return s.length > max ? `${JSON.stringify(s.slice(0, max))}...` : JSON.stringify(s);
}

// One flag per nesting level: what the level is.
const ARRAY = 0;
const OBJECT = 1;

/** What the scan found wrong; `syntax` means it could not follow the text (`JSON.parse` then says why). */
type Problem = { kind: 'syntax' } | { kind: 'duplicate' | 'proto'; name: string; path: string; at: number } | { kind: 'depth'; path: string; at: number };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `attestations[1].statement.predicate` from the open levels above `upTo` (exclusive). */
function pathOf(kinds: number[], names: string[], indexes: number[], upTo: number): string {
  let s = '';
  for (let d = 1; d < upTo && s.length <= PATH_MAX; d++) {
    if (kinds[d] === ARRAY) s += `[${indexes[d]}]`;
    else {
      const name = names[d]!;
      s += IDENTIFIER.test(name) && name.length <= QUOTE_MAX ? (s === '' ? name : `.${name}`) : `[${quoteBounded(name)}]`;
    }
  }
  return s.length > PATH_MAX ? `${s.slice(0, PATH_MAX)}...` : s;
}

/**
 * One pass over `text` that follows its structure only as far as member names and nesting need. For any text
 * `JSON.parse` accepts, it sees the same objects and names; for any other text it stops or reports `syntax`,
 * in time linear in the text.
 */
function scan(text: string, maxDepth: number): Problem | undefined {
  // Per nesting level (1 is the top-level value): ARRAY or OBJECT, and an array's current element index.
  // Plain arrays: allocating typed arrays on every call showed in the time of a bundle's scan.
  const kinds: number[] = [ARRAY];
  const indexes: number[] = [0];
  // Per open object: its member names so far, and the name being read (for paths in messages).
  const seen: string[][] = [];
  const sets: Array<Set<string> | undefined> = [];
  const current: string[] = [];
  let depth = 0;
  let wantName = false;
  const n = text.length;
  // The first backslash at or after the current name: one indexOf for a text without escapes, where asking
  // each name whether it holds one cost more than the rest of the name's check.
  let backslash = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: its end is the next quote preceded by an even number of backslashes.
      let end = text.indexOf('"', i + 1);
      for (;;) {
        if (end < 0) return { kind: 'syntax' };
        let k = end;
        while (text.charCodeAt(k - 1) === 0x5c) k--;
        if ((end - k) % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (wantName && kinds[depth] === OBJECT) {
        wantName = false;
        let name = text.slice(i + 1, end);
        if (backslash <= i) {
          backslash = text.indexOf('\\', i + 1);
          if (backslash < 0) backslash = n;
        }
        if (backslash < end) {
          try {
            name = JSON.parse(text.slice(i, end + 1)) as string;
          } catch {
            return { kind: 'syntax' };
          }
        }
        current[depth] = name;
        if (name === '__proto__') return { kind: 'proto', name, path: pathOf(kinds, current, indexes, depth), at: i };
        const names = seen[depth]!;
        const set = sets[depth];
        if (set === undefined && names.length < SMALL_OBJECT) {
          if (names.includes(name)) return { kind: 'duplicate', name, path: pathOf(kinds, current, indexes, depth), at: i };
          names.push(name);
        } else {
          const s = set ?? (sets[depth] = new Set(names));
          if (s.has(name)) return { kind: 'duplicate', name, path: pathOf(kinds, current, indexes, depth), at: i };
          s.add(name);
        }
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      // { or [
      if (depth === maxDepth) return { kind: 'depth', path: pathOf(kinds, current, indexes, depth + 1), at: i };
      depth++;
      if (c === 0x7b) {
        kinds[depth] = OBJECT;
        const names = seen[depth];
        if (names === undefined) seen[depth] = [];
        else names.length = 0;
        sets[depth] = undefined;
        current[depth] = '';
        wantName = true;
      } else {
        kinds[depth] = ARRAY;
        indexes[depth] = 0;
        wantName = false;
      }
    } else if (c === 0x7d || c === 0x5d) {
      // } or ]
      if (depth === 0 || kinds[depth] !== (c === 0x7d ? OBJECT : ARRAY)) return { kind: 'syntax' };
      depth--;
      wantName = false;
    } else if (c === 0x2c && depth > 0) {
      // , : the next member name, or the next array element
      if (kinds[depth] === OBJECT) wantName = true;
      else indexes[depth]!++;
    }
  }
  return undefined;
}

/** The first line of a `JSON.parse` error, without control characters and cut short. */
function syntaxDetail(e: unknown): string {
  // eslint-disable-next-line no-control-regex
  const m = String((e as Error)?.message ?? e).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return m.length > 120 ? `${m.slice(0, 120)}...` : m;
}

/** Where `JSON.parse` stopped, when its message says (`at position 9`, or `(line 2 column 3)` in newer V8). */
function syntaxOffset(text: string, e: unknown): number | undefined {
  const m = String((e as Error)?.message ?? '');
  const pos = /at position (\d+)/.exec(m);
  if (pos) return Number(pos[1]);
  const lc = /\(line (\d+) column \d+\)/.exec(m);
  if (!lc) return undefined;
  // Only the line matters below: the offset of that line's start is enough.
  let at = 0;
  for (let line = Number(lc[1]); line > 1 && at >= 0; line--) at = text.indexOf('\n', at) + 1 || -1;
  return at < 0 ? undefined : at;
}

/**
 * ` at line N` for a text of several lines (a document written by hand), nothing for a one-line text, where the
 * field path already says where. Only on the way to an error: it counts newlines up to `at`.
 */
function lineSuffix(text: string, at: number | undefined): string {
  if (at === undefined || text.indexOf('\n') < 0) return '';
  let line = 1;
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < at; nl = text.indexOf('\n', nl + 1)) line++;
  return ` at line ${line}`;
}

/**
 * Parses JSON text strictly: syntax as `JSON.parse`, plus no duplicate member names (compared unescaped), no
 * member named `__proto__`, and nesting at most `maxDepth` deep.
 * @throws `options.code` (a CustodyError) naming the rule broken and the field: not JSON, duplicate member
 *   name, `__proto__` member, nested too deeply
 */
export function parseStrictJSON(text: string, options: StrictJSONOptions): unknown {
  if (typeof text !== 'string') throw new TypeError('parseStrictJSON: text must be a string');
  const { code, what } = options;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) throw new TypeError('parseStrictJSON: maxDepth must be a positive integer');
  const problem = scan(text, maxDepth);
  const where = (path: string) => (path === '' ? 'the top-level object' : path);
  if (problem?.kind === 'duplicate')
    throw new CustodyError(code, `${what}: duplicate member name ${quoteBounded(problem.name)} in ${where(problem.path)}${lineSuffix(text, problem.at)}`);
  if (problem?.kind === 'proto')
    throw new CustodyError(
      code,
      `${what}: member name "__proto__" in ${where(problem.path)} is not allowed (a JavaScript object cannot hold it)${lineSuffix(text, problem.at)}`,
    );
  if (problem?.kind === 'depth')
    throw new CustodyError(
      code,
      `${what}: nested deeper than ${maxDepth} levels${problem.path === '' ? '' : ` (at ${problem.path})`}${lineSuffix(text, problem.at)}`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CustodyError(code, `${what}: not JSON (${syntaxDetail(e)})${lineSuffix(text, syntaxOffset(text, e))}`, { cause: e });
  }
  // The scan lost its way only on text that is not JSON: parsing it anyway is a bug, and fails closed.
  if (problem?.kind === 'syntax') throw new CustodyError(code, `${what}: not JSON (unbalanced brackets or an unterminated string)`);
  return value;
}
