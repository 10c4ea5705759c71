/**
 * A strict, imperative reader for the workflow and policy files: each accessor checks one field and, on the
 * first problem, throws `<file>:<line>: <field path>: <problem>` with the caller's error code, in the error
 * category "input" (exit code 3). Unlike the
 * declarative `checkFields` of templates it copes with fields whose shape depends on their neighbours
 * (a signer is either `ca` or `pinned`; an expected value is a string, a number or a boolean).
 */
import { quoteBounded } from '../util/strict-json.js';
import { CustodyError } from '../errors.js';
import { parseLocatedYAML, type LocatedDocument } from '../templates/schema.js';

/** Where a value sits in the document: mapping keys and list indexes from the root. */
export type FieldPath = ReadonlyArray<string | number>;

/** A scalar a requirement may compare against. */
export type Scalar = string | number | boolean;

/** Reads one YAML document field by field; every failure names the file, the line and the field. */
export class FieldReader {
  private constructor(
    private readonly doc: LocatedDocument,
    readonly fileName: string,
    readonly code: string,
  ) {}

  /**
   * Parses `text`; syntax errors, duplicate keys and aliases are refused.
   * @throws `code` (file:line: problem) on a YAML syntax error
   */
  static parse(text: string, fileName: string, code: string): FieldReader {
    try {
      return new FieldReader(parseLocatedYAML(text, fileName, code), fileName, code);
    } catch (e) {
      // A malformed file is bad input (exit 3) whatever its code's prefix says (ERR_POLICY_* reads as "rejected").
      if (e instanceof CustodyError) throw new CustodyError(e.code, e.message, { file: fileName, category: 'input', cause: e.cause });
      throw e;
    }
  }

  /** The whole document as plain data. */
  get root(): unknown {
    return this.doc.value;
  }

  /** The 1-based line of a field (of its nearest located ancestor), 1 when the document is empty. */
  lineOf(path: FieldPath): number {
    return this.doc.lineOf(path) ?? 1;
  }

  /** Throws the reader's error for `path`. */
  fail(path: FieldPath, problem: string): never {
    throw new CustodyError(this.code, `${this.fileName}:${this.lineOf(path)}: ${formatFieldPath(path)}: ${problem}`, {
      file: this.fileName,
      category: 'input',
    });
  }

  /** A mapping whose keys are all in `known` and which holds every key in `required`. */
  object(value: unknown, path: FieldPath, known: readonly string[], required: readonly string[] = []): Record<string, unknown> {
    if (!isPlainObject(value)) return this.fail(path, `expected a mapping, found ${describe(value)}`);
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.fail([...path, key], `unknown field (expected one of ${known.join(', ')})`);
    }
    for (const key of required) if (value[key] === undefined || value[key] === null) this.fail(path, `missing required field "${key}"`);
    return value;
  }

  /** A non-empty string, optionally one of `choices` or matching `pattern` (described by `hint`). */
  string(value: unknown, path: FieldPath, opts: { choices?: readonly string[]; pattern?: RegExp; hint?: string } = {}): string {
    if (typeof value !== 'string') return this.fail(path, `expected a string, found ${describe(value)}`);
    if (value.length === 0) return this.fail(path, 'must not be empty');
    if (opts.choices && !opts.choices.includes(value)) return this.fail(path, `${quoteBounded(value)} is not one of ${opts.choices.join(', ')}`);
    if (opts.pattern && !opts.pattern.test(value))
      return this.fail(path, `${quoteBounded(value)} is not ${opts.hint ?? `of the form ${String(opts.pattern)}`}`);
    return value;
  }

  /** An integer within `[min, max]`. */
  integer(value: unknown, path: FieldPath, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) return this.fail(path, `expected an integer, found ${describe(value)}`);
    if (value < min) return this.fail(path, `must be at least ${min}`);
    if (value > max) return this.fail(path, `must be at most ${max}`);
    return value;
  }

  /** `true` or `false`. */
  boolean(value: unknown, path: FieldPath): boolean {
    if (typeof value !== 'boolean') return this.fail(path, `expected true or false, found ${describe(value)}`);
    return value;
  }

  /** A string, a finite number or a boolean. */
  scalar(value: unknown, path: FieldPath): Scalar {
    if (typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    return this.fail(path, `expected a string, a number or true/false, found ${describe(value)}`);
  }

  /** A list with at least `minItems` items. */
  list(value: unknown, path: FieldPath, minItems = 0): unknown[] {
    if (!Array.isArray(value)) return this.fail(path, `expected a list, found ${describe(value)}`);
    if (value.length < minItems) return this.fail(path, `needs at least ${minItems} item(s)`);
    return value;
  }

  /** `read(value)` when the field is present (not absent, not null), else undefined. */
  optional<T>(obj: Record<string, unknown>, key: string, path: FieldPath, read: (value: unknown, path: FieldPath) => T): T | undefined {
    const value = obj[key];
    return value === undefined || value === null ? undefined : read(value, [...path, key]);
  }
}

/** `stages[2].signers[0].ca` from `['stages', 2, 'signers', 0, 'ca']`. */
export function formatFieldPath(path: FieldPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(document)';
}

/** True for a non-null, non-array object. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? `string ${quoteBounded(v)}` : `${typeof v} ${String(v)}`;
}
