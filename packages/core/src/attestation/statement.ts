/**
 * The in-toto Statement v1 that every attestation carries as its CMS content, and its one byte encoding.
 *
 * ```json
 * {"_type":"https://in-toto.io/Statement/v1",
 *  "subject":[{"name":"<manufacturer>/<serial>","digest":{"sha256":"<IDevID DER SHA-256>"}}],
 *  "predicateType":"https://custody.dev/attestation/<kind>/v1",
 *  "predicate":{"seq":0,"prev":null,"from":"<signer SPKI SHA-256>","to":"<next custodian SPKI SHA-256>",
 *               "time":"2026-11-24T15:00:00Z","stage":"<optional>","claims":{}}}
 * ```
 *
 * The encoder writes compact JSON in exactly that key order, with claims sorted by name (recursively), so one
 * model has one byte string. The parser is strict: every field typed and formed, no unknown keys.
 */
import { CustodyError } from '../errors.js';
import { fromUtf8, utf8 } from '../util/bytes.js';
import { parseStrictJSON, quoteBounded } from '../util/strict-json.js';
import { type Claims, encodeClaims, parseClaims } from './claims.js';

/** The in-toto Statement layer type (in-toto attestation framework, Statement v1). */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** The three kinds of attestation in a device's chain. */
export type AttestationKind = 'birth' | 'handoff' | 'activation';

/** Every attestation kind, in chain order. */
export const ATTESTATION_KINDS: readonly AttestationKind[] = ['birth', 'handoff', 'activation'];

const PREDICATE_PREFIX = 'https://custody.dev/attestation/';
const PREDICATE_SUFFIX = '/v1';

/** The predicateType URI of an attestation kind. */
export function predicateTypeOf(kind: AttestationKind): string {
  return PREDICATE_PREFIX + kind + PREDICATE_SUFFIX;
}

const KIND_BY_TYPE = new Map<string, AttestationKind>(ATTESTATION_KINDS.map((k) => [predicateTypeOf(k), k]));

/** The custody predicate: where the attestation sits in the chain, who hands the device to whom, and what was done. */
export interface Predicate {
  /** 0 for the birth attestation, +1 for each later one. */
  seq: number;
  /** Lower-case hex SHA-256 of the previous attestation's DER; null exactly when seq is 0. */
  prev: string | null;
  /** Lower-case hex SHA-256 of the signer's SubjectPublicKeyInfo DER. */
  from: string;
  /** Lower-case hex SHA-256 of the next custodian's attestation-key SubjectPublicKeyInfo DER. */
  to: string;
  /** RFC 3339 UTC time with whole seconds: `YYYY-MM-DDTHH:MM:SSZ`. */
  time: string;
  /** Workflow stage name, when the workflow names one. */
  stage?: string;
  /** Security controls and other facts attested at this step (see `claims.ts`). */
  claims: Claims;
}

/** One subject: the device, named `<manufacturer>/<serial>`, digest = SHA-256 of its IDevID certificate DER. */
export interface StatementSubject {
  name: string;
  digest: { sha256: string };
}

/** in-toto Statement v1 with a custody predicate; the object has the JSON's shape exactly. */
export interface Statement {
  _type: typeof STATEMENT_TYPE;
  /** Exactly one subject: the device. */
  subject: [StatementSubject];
  predicateType: string;
  predicate: Predicate;
}

function bad(field: string, what: string): CustodyError {
  return new CustodyError('ERR_ATTESTATION_STATEMENT', `attestation statement: ${field} ${what}`);
}

const HEX64 = /^[0-9a-f]{64}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** True for a lower-case 64-digit hex string (a SHA-256 digest). */
export function isHex64(v: unknown): v is string {
  // The RegExp, not a loop over the characters: as fast once optimized, and several times faster in code not yet
  // optimized (a pallet's worker thread starts cold).
  return typeof v === 'string' && HEX64.test(v);
}

/** The number in the ASCII digits of `s` from `at`, `n` of them. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) v = v * 10 + s.charCodeAt(i) - 0x30;
  return v;
}

/**
 * True for an RFC 3339 UTC time with whole seconds that names a real instant (`2026-11-24T15:00:00Z`): a day of
 * the proleptic Gregorian calendar, no leap second. Read digit by digit: a bundle check runs it for every
 * statement, and a Date per call cost about 2 us.
 */
export function isStatementTime(v: unknown): v is string {
  if (typeof v !== 'string' || !TIME.test(v)) return false;
  const y = digits(v, 0, 4);
  const mo = digits(v, 5, 2);
  const d = digits(v, 8, 2);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = mo === 2 && leap ? 29 : MONTH_DAYS[mo - 1]!;
  return d <= days && digits(v, 11, 2) < 24 && digits(v, 14, 2) < 60 && digits(v, 17, 2) < 60;
}

/** The statement form of a time: RFC 3339, UTC, whole seconds (milliseconds dropped). */
export function formatStatementTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new TypeError('invalid Date');
  return d.toISOString().slice(0, 19) + 'Z';
}

/** The kind an attestation's predicateType names. */
export function statementKind(s: Statement): AttestationKind {
  const k = KIND_BY_TYPE.get(s.predicateType);
  if (!k) throw bad('predicateType', `${quoteBounded(s.predicateType)} is not a custody attestation type`);
  return k;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, field: string, required: readonly string[], optional: readonly string[] = []): void {
  for (const k of required) if (!(k in obj)) throw bad(`${field}${k}`, 'is missing');
  for (const k of Object.keys(obj)) if (!required.includes(k) && !optional.includes(k)) throw bad(`${field}${k}`, 'is not a known field');
}

function checkText(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(field, 'must be a non-empty string');
  if (CONTROL.test(v)) throw bad(field, 'must not contain control characters');
  return v;
}

function checkSubjectName(v: unknown): string {
  const name = checkText(v, 'subject[0].name');
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) throw bad('subject[0].name', 'must be "<manufacturer>/<device serial>"');
  return name;
}

/**
 * Checks that `json` is a well-formed custody statement and returns it typed (the same object, claims
 * replaced by their parsed form).
 * @throws ERR_ATTESTATION_STATEMENT naming the first bad field; ERR_CLAIMS_UNKNOWN / ERR_CLAIMS_INVALID for claims
 */
export function validateStatement(json: unknown): Statement {
  return checkStatement(json, true);
}

function checkStatement(json: unknown, withClaims: boolean): Statement {
  if (!isPlainObject(json)) throw bad('statement', 'must be a JSON object');
  checkKeys(json, '', ['_type', 'subject', 'predicateType', 'predicate']);
  if (json._type !== STATEMENT_TYPE) throw bad('_type', `must be "${STATEMENT_TYPE}"`);

  const subject = json.subject;
  if (!Array.isArray(subject) || subject.length !== 1) throw bad('subject', 'must be an array of exactly one device');
  const sub = subject[0] as unknown;
  if (!isPlainObject(sub)) throw bad('subject[0]', 'must be an object');
  checkKeys(sub, 'subject[0].', ['name', 'digest']);
  checkSubjectName(sub.name);
  if (!isPlainObject(sub.digest)) throw bad('subject[0].digest', 'must be an object');
  checkKeys(sub.digest, 'subject[0].digest.', ['sha256']);
  if (!isHex64(sub.digest.sha256)) throw bad('subject[0].digest.sha256', 'must be 64 lower-case hex digits');

  if (typeof json.predicateType !== 'string') throw bad('predicateType', 'must be a string');
  const kind = KIND_BY_TYPE.get(json.predicateType);
  if (!kind) throw bad('predicateType', `${quoteBounded(json.predicateType)} is not a custody attestation type`);

  const p = json.predicate;
  if (!isPlainObject(p)) throw bad('predicate', 'must be an object');
  checkKeys(p, 'predicate.', ['seq', 'prev', 'from', 'to', 'time', 'claims'], ['stage']);
  if (typeof p.seq !== 'number' || !Number.isSafeInteger(p.seq) || p.seq < 0) throw bad('predicate.seq', 'must be an integer >= 0');
  if ((kind === 'birth') !== (p.seq === 0))
    throw bad('predicate.seq', kind === 'birth' ? 'must be 0 for a birth attestation' : `must be > 0 for a ${kind} attestation`);
  if (p.seq === 0) {
    if (p.prev !== null) throw bad('predicate.prev', 'must be null when seq is 0');
  } else if (!isHex64(p.prev)) throw bad('predicate.prev', 'must be 64 lower-case hex digits when seq > 0');
  if (!isHex64(p.from)) throw bad('predicate.from', 'must be 64 lower-case hex digits');
  if (!isHex64(p.to)) throw bad('predicate.to', 'must be 64 lower-case hex digits');
  if (!isStatementTime(p.time)) throw bad('predicate.time', 'must be an RFC 3339 UTC time with whole seconds (YYYY-MM-DDTHH:MM:SSZ)');
  if ('stage' in p) checkText(p.stage, 'predicate.stage');
  if (withClaims) p.claims = parseClaims(p.claims);
  return json as unknown as Statement;
}

/**
 * Strict parse of statement bytes (UTF-8 JSON) into the model. The JSON is strict (`parseStrictJSON`): these
 * are the bytes a signature covers, so no member name twice, none named `__proto__`, at most 64 levels deep.
 * @throws ERR_ATTESTATION_STATEMENT naming the field (or "statement" for bytes that are not UTF-8 or not strict
 *   JSON); ERR_CLAIMS_UNKNOWN / ERR_CLAIMS_INVALID for the claims
 */
export function parseStatement(bytes: Uint8Array): Statement {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch (e) {
    throw new CustodyError('ERR_ATTESTATION_STATEMENT', 'attestation statement: statement is not UTF-8 JSON', { cause: e });
  }
  return validateStatement(parseStrictJSON(text, { code: 'ERR_ATTESTATION_STATEMENT', what: 'attestation statement' }));
}

// The statement's one encoding, in three pieces: the subject, the chain link (kind, seq, prev), and the rest
// of the predicate. Hand-written so the key order is fixed by this code, never by how the caller built the
// object; `encodeStatement` and `createStatementEncoder` both write through them.
const TYPE_JSON = JSON.stringify(STATEMENT_TYPE);

function subjectText(name: string, sha256: string): string {
  return `{"_type":${TYPE_JSON},"subject":[{"name":${JSON.stringify(name)},"digest":{"sha256":"${sha256}"}}],`;
}

function linkText(predicateType: string, seq: number, prev: string | null): string {
  return `"predicateType":${JSON.stringify(predicateType)},"predicate":{"seq":${seq},"prev":${prev === null ? 'null' : `"${prev}"`},`;
}

function restText(p: Omit<Predicate, 'seq' | 'prev'>): string {
  return `"from":"${p.from}","to":"${p.to}","time":"${p.time}",${p.stage === undefined ? '' : `"stage":${JSON.stringify(p.stage)},`}"claims":${encodeClaims(p.claims)}}}`;
}

/**
 * The statement's one encoding: compact JSON, keys in the documented order, claims sorted by name.
 * Validates the model first, so a signer never signs a malformed statement.
 * @throws ERR_ATTESTATION_STATEMENT naming the bad field; ERR_CLAIMS_UNKNOWN / ERR_CLAIMS_INVALID
 */
export function encodeStatement(statement: Statement): Uint8Array {
  return encodeCheckedStatement(checkStatement(statement, false));
}

/**
 * `encodeStatement` without its validation: only for a statement `validateStatement` returned a moment before on
 * the same code path, an object nobody else holds (the verifier's own parse of bundle text), where checking it
 * again would repeat the same checks on the same values.
 */
export function encodeCheckedStatement(s: Statement): Uint8Array {
  const sub = s.subject[0];
  return utf8(subjectText(sub.name, sub.digest.sha256) + linkText(s.predicateType, s.predicate.seq, s.predicate.prev) + restText(s.predicate));
}

/** The parts of a statement that change from device to device in a batch. */
export interface StatementLink {
  subject: StatementSubject;
  /** 0 (and `prev` null) in a batch of births. */
  seq: number;
  prev: string | null;
}

/**
 * An encoder for many statements that share kind, from, to, time, stage and claims (a batch of births or of
 * handoffs): the shared part is validated and encoded once, and each call checks and writes only the subject,
 * seq and prev. The bytes equal `encodeStatement(createStatement(...))` of the same fields.
 * @throws (at creation) as `createStatement` for the shared fields; (per call) ERR_ATTESTATION_STATEMENT naming
 *   the bad per-device field
 */
export function createStatementEncoder(shared: Omit<StatementInput, 'device' | 'idevidSha256' | 'seq' | 'prev'>): (link: StatementLink) => Uint8Array {
  const birth = shared.kind === 'birth';
  const probe = createStatement({ ...shared, device: 'm/s', idevidSha256: '0'.repeat(64), seq: birth ? 0 : 1, prev: birth ? null : '0'.repeat(64) });
  const rest = restText(probe.predicate);
  return ({ subject, seq, prev }) => {
    const name = checkSubjectName(subject.name);
    if (!isHex64(subject.digest.sha256)) throw bad('subject[0].digest.sha256', 'must be 64 lower-case hex digits');
    if (birth) {
      if (seq !== 0) throw bad('predicate.seq', 'must be 0 for a birth attestation');
      if (prev !== null) throw bad('predicate.prev', 'must be null when seq is 0');
    } else {
      if (!Number.isSafeInteger(seq) || seq < 1) throw bad('predicate.seq', `must be > 0 for a ${shared.kind} attestation`);
      if (!isHex64(prev)) throw bad('predicate.prev', 'must be 64 lower-case hex digits when seq > 0');
    }
    return utf8(subjectText(name, subject.digest.sha256) + linkText(probe.predicateType, seq, prev) + rest);
  };
}

/** What `createStatement` needs; the rest of the statement follows from it. */
export interface StatementInput {
  kind: AttestationKind;
  /** `<manufacturer>/<device serial>`. */
  device: string;
  /** Hex SHA-256 of the IDevID certificate DER. */
  idevidSha256: string;
  seq: number;
  prev: string | null;
  from: string;
  to: string;
  time: Date | string;
  stage?: string;
  claims?: Claims;
}

/**
 * Builds (and validates) a statement from its parts.
 * @throws ERR_ATTESTATION_STATEMENT naming the bad field; ERR_CLAIMS_UNKNOWN / ERR_CLAIMS_INVALID
 */
export function createStatement(input: StatementInput): Statement {
  const predicate: Predicate = {
    seq: input.seq,
    prev: input.prev,
    from: input.from,
    to: input.to,
    time: typeof input.time === 'string' ? input.time : formatStatementTime(input.time),
    claims: input.claims ?? {},
  };
  if (input.stage !== undefined) predicate.stage = input.stage;
  return validateStatement({
    _type: STATEMENT_TYPE,
    subject: [{ name: input.device, digest: { sha256: input.idevidSha256 } }],
    predicateType: predicateTypeOf(input.kind),
    predicate,
  });
}
