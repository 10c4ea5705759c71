/**
 * The in-toto Statement v1 a detached code signature carries as its CMS content, and its one byte encoding.
 *
 * ```json
 * {"_type":"https://in-toto.io/Statement/v1",
 *  "subject":[{"name":"deploy.sh","digest":{"sha256":"<SHA-256 of the file>"}}],
 *  "predicateType":"https://custody.dev/code/v1",
 *  "predicate":{"type":"script","version":"1.4.0","signer":"<signer SPKI SHA-256>","time":"2026-12-06T23:00:00Z"}}
 * ```
 *
 * `version` is optional (absent when the signer gave none). The encoder writes compact JSON in exactly that key
 * order, so one model has one byte string; the parser is strict (strict JSON, every field typed, no unknown key).
 */
import { CustodyError } from '../errors.js';
import { STATEMENT_TYPE, formatStatementTime, isHex64, isStatementTime } from '../attestation/statement.js';
import { fromUtf8, utf8 } from '../util/bytes.js';
import { parseStrictJSON, quoteBounded } from '../util/strict-json.js';

/** The predicateType of a custody code signature. */
export const CODE_PREDICATE_TYPE = 'https://custody.dev/code/v1';

/** What kind of end-user code a signature is for. */
export type CodeType = 'script' | 'app' | 'config';

/** Every code type, for flags and policies. */
export const CODE_TYPES: readonly CodeType[] = ['script', 'app', 'config'];

/** Longest file name a statement names (Linux NAME_MAX). */
export const CODE_NAME_MAX = 255;
/** Longest version string. */
export const CODE_VERSION_MAX = 128;
/** Largest statement accepted, in bytes: a bound checked before any JSON is parsed. */
export const CODE_STATEMENT_MAX = 4096;

/** The code predicate: what was signed, by whom, when. */
export interface CodePredicate {
  type: CodeType;
  version?: string;
  /** Lower-case hex SHA-256 of the signer certificate's SubjectPublicKeyInfo DER. */
  signer: string;
  /** RFC 3339 UTC with whole seconds. */
  time: string;
}

/** A code statement; the object has the JSON's shape exactly. */
export interface CodeStatement {
  _type: typeof STATEMENT_TYPE;
  /** Exactly one subject: the file, by its base name and SHA-256. */
  subject: [{ name: string; digest: { sha256: string } }];
  predicateType: typeof CODE_PREDICATE_TYPE;
  predicate: CodePredicate;
}

function bad(field: string, what: string): CustodyError {
  return new CustodyError('ERR_CODE_SIGNATURE_MALFORMED', `code statement: ${field} ${what}`);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_~-]*$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, field: string, required: readonly string[], optional: readonly string[] = []): void {
  for (const k of required) if (!(k in obj)) throw bad(`${field}${k}`, 'is missing');
  // An unknown name is the input's: quoted and bounded, so that a hostile name cannot fill the one-line message.
  for (const k of Object.keys(obj)) if (!required.includes(k) && !optional.includes(k)) throw bad(`${field}${quoteBounded(k, 64)}`, 'is not a known field');
}

/**
 * Why `name` cannot be the subject name of a code statement (a file's base name), or undefined when it can.
 */
export function codeNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty string';
  if (name.length > CODE_NAME_MAX) return `must be at most ${CODE_NAME_MAX} characters`;
  if (CONTROL.test(name)) return 'must not contain control characters';
  if (name.includes('/') || name.includes('\\') || name === '.' || name === '..') return 'must be a file name, not a path';
  return undefined;
}

/**
 * Checks that `json` is a well-formed code statement and returns it typed.
 * @throws ERR_CODE_SIGNATURE_MALFORMED naming the first bad field
 */
export function validateCodeStatement(json: unknown): CodeStatement {
  if (!isPlainObject(json)) throw bad('statement', 'must be a JSON object');
  checkKeys(json, '', ['_type', 'subject', 'predicateType', 'predicate']);
  if (json._type !== STATEMENT_TYPE) throw bad('_type', `must be "${STATEMENT_TYPE}"`);
  const subject = json.subject;
  if (!Array.isArray(subject) || subject.length !== 1) throw bad('subject', 'must be an array of exactly one file');
  const sub = subject[0] as unknown;
  if (!isPlainObject(sub)) throw bad('subject[0]', 'must be an object');
  checkKeys(sub, 'subject[0].', ['name', 'digest']);
  const nameProblem = codeNameProblem(sub.name);
  if (nameProblem) throw bad('subject[0].name', nameProblem);
  if (!isPlainObject(sub.digest)) throw bad('subject[0].digest', 'must be an object');
  checkKeys(sub.digest, 'subject[0].digest.', ['sha256']);
  if (!isHex64(sub.digest.sha256)) throw bad('subject[0].digest.sha256', 'must be 64 lower-case hex digits');
  if (json.predicateType !== CODE_PREDICATE_TYPE)
    throw bad('predicateType', `${typeof json.predicateType === 'string' ? quoteBounded(json.predicateType) : 'value'} is not "${CODE_PREDICATE_TYPE}"`);
  const p = json.predicate;
  if (!isPlainObject(p)) throw bad('predicate', 'must be an object');
  checkKeys(p, 'predicate.', ['type', 'signer', 'time'], ['version']);
  if (!CODE_TYPES.includes(p.type as CodeType)) throw bad('predicate.type', `must be one of ${CODE_TYPES.join(', ')}`);
  if ('version' in p) {
    const v = p.version;
    if (typeof v !== 'string' || v.length > CODE_VERSION_MAX || !VERSION.test(v))
      throw bad('predicate.version', `must be 1 to ${CODE_VERSION_MAX} letters, digits and . + _ ~ - (starting with a letter or digit)`);
  }
  if (!isHex64(p.signer)) throw bad('predicate.signer', 'must be 64 lower-case hex digits');
  if (!isStatementTime(p.time)) throw bad('predicate.time', 'must be an RFC 3339 UTC time with whole seconds (YYYY-MM-DDTHH:MM:SSZ)');
  return json as unknown as CodeStatement;
}

/**
 * Strict parse of statement bytes (UTF-8 JSON, at most CODE_STATEMENT_MAX bytes).
 * @throws ERR_CODE_SIGNATURE_MALFORMED naming the field, or "statement" for bytes that are not strict UTF-8 JSON
 */
export function parseCodeStatement(bytes: Uint8Array): CodeStatement {
  if (bytes.length > CODE_STATEMENT_MAX) throw bad('statement', `is ${bytes.length} bytes, more than ${CODE_STATEMENT_MAX}`);
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch (e) {
    throw new CustodyError('ERR_CODE_SIGNATURE_MALFORMED', 'code statement: statement is not UTF-8 JSON', { cause: e });
  }
  return validateCodeStatement(parseStrictJSON(text, { code: 'ERR_CODE_SIGNATURE_MALFORMED', what: 'code statement' }));
}

/**
 * The statement's one encoding: compact JSON, keys in the documented order. Validates first.
 * @throws ERR_CODE_SIGNATURE_MALFORMED naming the bad field
 */
export function encodeCodeStatement(statement: CodeStatement): Uint8Array {
  const s = validateCodeStatement(statement);
  const sub = s.subject[0];
  const p = s.predicate;
  const version = p.version === undefined ? '' : `"version":${JSON.stringify(p.version)},`;
  return utf8(
    `{"_type":${JSON.stringify(STATEMENT_TYPE)},"subject":[{"name":${JSON.stringify(sub.name)},"digest":{"sha256":"${sub.digest.sha256}"}}],` +
      `"predicateType":${JSON.stringify(CODE_PREDICATE_TYPE)},"predicate":{"type":"${p.type}",${version}"signer":"${p.signer}","time":"${p.time}"}}`,
  );
}

/** What `createCodeStatement` needs. */
export interface CodeStatementInput {
  /** The file's base name. */
  name: string;
  /** Hex SHA-256 of the file. */
  sha256: string;
  type: CodeType;
  version?: string;
  /** Hex SHA-256 of the signer's SPKI. */
  signer: string;
  time: Date;
}

/**
 * Builds (and validates) a code statement from its parts.
 * @throws ERR_CODE_SIGNATURE_MALFORMED naming the bad field
 */
export function createCodeStatement(input: CodeStatementInput): CodeStatement {
  const predicate: CodePredicate = { type: input.type, signer: input.signer, time: formatStatementTime(input.time) };
  if (input.version !== undefined) predicate.version = input.version;
  return validateCodeStatement({
    _type: STATEMENT_TYPE,
    subject: [{ name: input.name, digest: { sha256: input.sha256 } }],
    predicateType: CODE_PREDICATE_TYPE,
    predicate,
  });
}
