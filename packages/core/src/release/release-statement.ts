/**
 * The in-toto Statement v1 a release manifest carries as its CMS content, and its one byte encoding.
 *
 * ```json
 * {"_type":"https://in-toto.io/Statement/v1",
 *  "subject":[{"name":"<image file name>","digest":{"sha256":"<image SHA-256>"}}],
 *  "predicateType":"https://custody.dev/release/v1",
 *  "predicate":{"version":"1.4.0","securityCounter":7,"length":1048576,"models":["GW-100","GW-200"],
 *               "expires":"2027-06-01T00:00:00Z","previous":"<SHA-256 of the previous release manifest DER>",
 *               "signer":"<signer SPKI SHA-256>","time":"2026-12-06T12:00:00Z"}}
 * ```
 *
 * The image's length sits beside its digest in the predicate (an in-toto subject has no size field): a device
 * checks it before hashing, as TUF's targets do. `previous` is null for the first release of a line. Models are
 * sorted and unique, so one release has one encoding. The parser is strict: every field typed and bounded, no
 * unknown keys, no member name twice.
 */
import { isHex64, isStatementTime, STATEMENT_TYPE } from '../attestation/statement.js';
import { CustodyError } from '../errors.js';
import { fromUtf8, utf8 } from '../util/bytes.js';
import { parseStrictJSON, quoteBounded } from '../util/strict-json.js';

/** The predicateType of a release manifest. */
export const RELEASE_PREDICATE_TYPE = 'https://custody.dev/release/v1';

/** Most hardware models one release may name. */
export const MAX_RELEASE_MODELS = 64;
/** Longest version, model or image name, in characters. */
export const MAX_RELEASE_TEXT = 128;

/** What a release says about its image. */
export interface ReleasePredicate {
  /** The release's version label (free text: the counter, not this, orders releases). */
  version: string;
  /** Anti-rollback counter: a device never accepts a release whose counter is below the one it holds. */
  securityCounter: number;
  /** The image's length in bytes. */
  length: number;
  /** Hardware models the image is for; sorted, unique, at least one. */
  models: string[];
  /** RFC 3339 UTC time after which devices refuse the manifest (freeze attacks). */
  expires: string;
  /** Lower-case hex SHA-256 of the previous release manifest's DER, or null for the first release. */
  previous: string | null;
  /** Lower-case hex SHA-256 of the signer certificate's SubjectPublicKeyInfo DER. */
  signer: string;
  /** RFC 3339 UTC time of the release. */
  time: string;
}

/** in-toto Statement v1 with a release predicate; the object has the JSON's shape exactly. */
export interface ReleaseStatement {
  _type: typeof STATEMENT_TYPE;
  /** Exactly one subject: the image. */
  subject: [{ name: string; digest: { sha256: string } }];
  predicateType: typeof RELEASE_PREDICATE_TYPE;
  predicate: ReleasePredicate;
}

function bad(field: string, what: string): CustodyError {
  return new CustodyError('ERR_RELEASE_MALFORMED', `release manifest: ${field} ${what}`);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, field: string, keys: readonly string[]): void {
  for (const k of keys) if (!(k in obj)) throw bad(`${field}${k}`, 'is missing');
  for (const k of Object.keys(obj)) if (!keys.includes(k)) throw bad(`${field}${quoteBounded(k)}`, 'is not a known field');
}

/** A non-empty, bounded, single-line text field. */
export function checkReleaseText(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_RELEASE_TEXT) throw bad(field, `must be a string of 1 to ${MAX_RELEASE_TEXT} characters`);
  if (CONTROL.test(v)) throw bad(field, 'must not contain control characters');
  return v;
}

function checkCount(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(field, `must be an integer >= ${min}`);
  return v;
}

/**
 * Checks that `json` is a well-formed release statement and returns it typed (the same object).
 * @throws ERR_RELEASE_MALFORMED naming the first bad field
 */
export function validateReleaseStatement(json: unknown): ReleaseStatement {
  if (!isPlainObject(json)) throw bad('statement', 'must be a JSON object');
  checkKeys(json, '', ['_type', 'subject', 'predicateType', 'predicate']);
  if (json._type !== STATEMENT_TYPE) throw bad('_type', `must be "${STATEMENT_TYPE}"`);
  if (json.predicateType !== RELEASE_PREDICATE_TYPE) throw bad('predicateType', `must be "${RELEASE_PREDICATE_TYPE}"`);
  const subject = json.subject;
  if (!Array.isArray(subject) || subject.length !== 1) throw bad('subject', 'must be an array of exactly one image');
  const sub = subject[0] as unknown;
  if (!isPlainObject(sub)) throw bad('subject[0]', 'must be an object');
  checkKeys(sub, 'subject[0].', ['name', 'digest']);
  checkReleaseText(sub.name, 'subject[0].name');
  if (!isPlainObject(sub.digest)) throw bad('subject[0].digest', 'must be an object');
  checkKeys(sub.digest, 'subject[0].digest.', ['sha256']);
  if (!isHex64(sub.digest.sha256)) throw bad('subject[0].digest.sha256', 'must be 64 lower-case hex digits');

  const p = json.predicate;
  if (!isPlainObject(p)) throw bad('predicate', 'must be an object');
  checkKeys(p, 'predicate.', ['version', 'securityCounter', 'length', 'models', 'expires', 'previous', 'signer', 'time']);
  checkReleaseText(p.version, 'predicate.version');
  checkCount(p.securityCounter, 'predicate.securityCounter', 0);
  checkCount(p.length, 'predicate.length', 1);
  const models = p.models;
  if (!Array.isArray(models) || models.length === 0 || models.length > MAX_RELEASE_MODELS)
    throw bad('predicate.models', `must be an array of 1 to ${MAX_RELEASE_MODELS} model names`);
  models.forEach((m, i) => {
    checkReleaseText(m, `predicate.models[${i}]`);
    // Sorted and unique: one release, one encoding.
    if (i > 0 && !((models[i - 1] as string) < (m as string))) throw bad('predicate.models', 'must be sorted and unique');
  });
  if (!isStatementTime(p.expires)) throw bad('predicate.expires', 'must be an RFC 3339 UTC time with whole seconds (YYYY-MM-DDTHH:MM:SSZ)');
  if (p.previous !== null && !isHex64(p.previous)) throw bad('predicate.previous', 'must be null or 64 lower-case hex digits');
  if (!isHex64(p.signer)) throw bad('predicate.signer', 'must be 64 lower-case hex digits');
  if (!isStatementTime(p.time)) throw bad('predicate.time', 'must be an RFC 3339 UTC time with whole seconds (YYYY-MM-DDTHH:MM:SSZ)');
  if (!(p.time < p.expires)) throw bad('predicate.expires', 'must be after predicate.time');
  return json as unknown as ReleaseStatement;
}

/**
 * Strict parse of release statement bytes (UTF-8 JSON): the bytes the manifest's signature covers, so no member
 * name twice, none named `__proto__`, nothing nested deeper than the statement itself.
 * @throws ERR_RELEASE_MALFORMED naming the field, or "statement" for bytes that are not UTF-8 strict JSON
 */
export function parseReleaseStatement(bytes: Uint8Array): ReleaseStatement {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch (e) {
    throw new CustodyError('ERR_RELEASE_MALFORMED', 'release manifest: statement is not UTF-8 JSON', { cause: e });
  }
  return validateReleaseStatement(parseStrictJSON(text, { code: 'ERR_RELEASE_MALFORMED', what: 'release manifest', maxDepth: 4 }));
}

/**
 * The statement's one encoding: compact JSON, keys in the documented order. Validates first, so a signer never
 * signs a malformed release.
 * @throws ERR_RELEASE_MALFORMED naming the bad field
 */
export function encodeReleaseStatement(statement: ReleaseStatement): Uint8Array {
  const s = validateReleaseStatement(statement);
  const sub = s.subject[0];
  const p = s.predicate;
  const text =
    `{"_type":${JSON.stringify(STATEMENT_TYPE)},"subject":[{"name":${JSON.stringify(sub.name)},"digest":{"sha256":"${sub.digest.sha256}"}}],` +
    `"predicateType":${JSON.stringify(RELEASE_PREDICATE_TYPE)},"predicate":{"version":${JSON.stringify(p.version)},` +
    `"securityCounter":${p.securityCounter},"length":${p.length},"models":${JSON.stringify(p.models)},"expires":"${p.expires}",` +
    `"previous":${p.previous === null ? 'null' : `"${p.previous}"`},"signer":"${p.signer}","time":"${p.time}"}}`;
  return utf8(text);
}

/** What `createReleaseStatement` needs; models in any order. */
export interface ReleaseStatementInput extends Omit<ReleasePredicate, 'models'> {
  imageName: string;
  imageSha256: string;
  models: readonly string[];
}

/**
 * A release statement from its parts, models sorted and made unique.
 * @throws ERR_RELEASE_MALFORMED naming the bad field
 */
export function createReleaseStatement(input: ReleaseStatementInput): ReleaseStatement {
  const { imageName, imageSha256, models, ...rest } = input;
  const statement: ReleaseStatement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: imageName, digest: { sha256: imageSha256 } }],
    predicateType: RELEASE_PREDICATE_TYPE,
    predicate: { ...rest, models: [...new Set(models)].sort() },
  };
  return validateReleaseStatement(statement);
}
