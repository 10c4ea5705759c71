/**
 * Withdrawal lists: what a CRL is to certificates, for releases. A signed, numbered list of withdrawn release
 * manifests (by the SHA-256 of their DER), valid from `thisUpdate` to `nextUpdate`, in the same CMS envelope as
 * release manifests and signed by a firmware signer. A device refuses a withdrawn release, a list whose
 * `nextUpdate` has passed, and a list numbered below the last one it accepted.
 *
 * ```json
 * {"_type":"https://custody.dev/release-withdrawals/v1","number":3,
 *  "thisUpdate":"2026-12-06T12:00:00Z","nextUpdate":"2027-01-05T12:00:00Z","signer":"<signer SPKI SHA-256>",
 *  "withdrawn":[{"release":"<manifest SHA-256>","time":"2026-12-06T11:58:00Z"}]}
 * ```
 * Entries are sorted by `release` and unique: one list, one encoding.
 */
import type { AttestationSigner } from '../attestation/cms-sign.js';
import { signEncodedStatement } from '../attestation/cms-sign.js';
import type { SignedEnvelope } from '../attestation/cms-parse.js';
import { isHex64, isStatementTime } from '../attestation/statement.js';
import { CustodyError } from '../errors.js';
import { fromUtf8, toHex, utf8 } from '../util/bytes.js';
import { parseStrictJSON, quoteBounded } from '../util/strict-json.js';
import type { ParsedCertificate } from '../validation/certificate.js';
import { checkCodeSigner, openSignedDocument, type DocumentCodes, type ReleaseTrust } from './code-signer.js';

/** The `_type` of a withdrawal list. */
export const WITHDRAWALS_TYPE = 'https://custody.dev/release-withdrawals/v1';
/** Most entries one list may hold. */
export const MAX_WITHDRAWN = 10_000;
/** Largest withdrawal list read (10,000 entries of about 100 bytes, a signer and its chain). */
export const MAX_WITHDRAWALS_BYTES = 2 * 1024 * 1024;

const CODES: DocumentCodes = {
  what: 'withdrawal list',
  malformed: 'ERR_WITHDRAWALS_MALFORMED',
  highS: 'ERR_WITHDRAWALS_HIGH_S',
  signature: 'ERR_WITHDRAWALS_SIGNATURE',
  signer: 'ERR_WITHDRAWALS_SIGNER',
  eku: 'ERR_WITHDRAWALS_SIGNER_EKU',
  chain: 'ERR_WITHDRAWALS_SIGNER_CHAIN',
};

/** One withdrawn release. */
export interface WithdrawnRelease {
  /** Lower-case hex SHA-256 of the release manifest DER. */
  release: string;
  /** RFC 3339 UTC time of the withdrawal. */
  time: string;
}

/** The signed content of a withdrawal list; the object has the JSON's shape exactly. */
export interface WithdrawalList {
  _type: typeof WITHDRAWALS_TYPE;
  /** Grows by one with each list the manufacturer issues (as a CRL number). */
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  /** Lower-case hex SHA-256 of the signer certificate's SubjectPublicKeyInfo DER. */
  signer: string;
  withdrawn: WithdrawnRelease[];
}

/** A withdrawal list whose signature and signer were checked. */
export interface VerifiedWithdrawals {
  readonly envelope: SignedEnvelope;
  readonly list: WithdrawalList;
  /** Lower-case hex SHA-256 of the list's DER. */
  readonly hash: string;
  readonly signer: ParsedCertificate;
  /** The withdrawn release hashes. */
  readonly releases: ReadonlySet<string>;
}

function bad(field: string, what: string): CustodyError {
  return new CustodyError('ERR_WITHDRAWALS_MALFORMED', `withdrawal list: ${field} ${what}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, field: string, keys: readonly string[]): void {
  for (const k of keys) if (!(k in obj)) throw bad(`${field}${k}`, 'is missing');
  for (const k of Object.keys(obj)) if (!keys.includes(k)) throw bad(`${field}${quoteBounded(k)}`, 'is not a known field');
}

const TIME_RULE = 'must be an RFC 3339 UTC time with whole seconds (YYYY-MM-DDTHH:MM:SSZ)';

/**
 * Checks that `json` is a well-formed withdrawal list and returns it typed (the same object).
 * @throws ERR_WITHDRAWALS_MALFORMED naming the first bad field
 */
export function validateWithdrawalList(json: unknown): WithdrawalList {
  if (!isPlainObject(json)) throw bad('list', 'must be a JSON object');
  checkKeys(json, '', ['_type', 'number', 'thisUpdate', 'nextUpdate', 'signer', 'withdrawn']);
  if (json._type !== WITHDRAWALS_TYPE) throw bad('_type', `must be "${WITHDRAWALS_TYPE}"`);
  if (typeof json.number !== 'number' || !Number.isSafeInteger(json.number) || json.number < 1) throw bad('number', 'must be an integer >= 1');
  if (!isStatementTime(json.thisUpdate)) throw bad('thisUpdate', TIME_RULE);
  if (!isStatementTime(json.nextUpdate)) throw bad('nextUpdate', TIME_RULE);
  if (!(json.thisUpdate < json.nextUpdate)) throw bad('nextUpdate', 'must be after thisUpdate');
  if (!isHex64(json.signer)) throw bad('signer', 'must be 64 lower-case hex digits');
  const list = json.withdrawn;
  if (!Array.isArray(list) || list.length > MAX_WITHDRAWN) throw bad('withdrawn', `must be an array of at most ${MAX_WITHDRAWN} entries`);
  list.forEach((entry: unknown, i) => {
    if (!isPlainObject(entry)) throw bad(`withdrawn[${i}]`, 'must be an object');
    checkKeys(entry, `withdrawn[${i}].`, ['release', 'time']);
    if (!isHex64(entry.release)) throw bad(`withdrawn[${i}].release`, 'must be 64 lower-case hex digits');
    if (!isStatementTime(entry.time)) throw bad(`withdrawn[${i}].time`, TIME_RULE);
    if (i > 0 && !((list[i - 1] as WithdrawnRelease).release < entry.release)) throw bad('withdrawn', 'must be sorted by release and unique');
  });
  return json as unknown as WithdrawalList;
}

/**
 * The list's one encoding: compact JSON, keys in the documented order. Validates first.
 * @throws ERR_WITHDRAWALS_MALFORMED naming the bad field
 */
export function encodeWithdrawalList(list: WithdrawalList): Uint8Array {
  const l = validateWithdrawalList(list);
  const entries = l.withdrawn.map((w) => `{"release":"${w.release}","time":"${w.time}"}`).join(',');
  return utf8(
    `{"_type":${JSON.stringify(WITHDRAWALS_TYPE)},"number":${l.number},"thisUpdate":"${l.thisUpdate}","nextUpdate":"${l.nextUpdate}",` +
      `"signer":"${l.signer}","withdrawn":[${entries}]}`,
  );
}

/**
 * A list from its parts, entries sorted by release (a release listed twice keeps its earliest time).
 * @throws ERR_WITHDRAWALS_MALFORMED naming the bad field
 */
export function createWithdrawalList(input: Omit<WithdrawalList, '_type'>): WithdrawalList {
  const byRelease = new Map<string, WithdrawnRelease>();
  for (const w of input.withdrawn) {
    const seen = byRelease.get(w.release);
    if (!seen || w.time < seen.time) byRelease.set(w.release, { release: w.release, time: w.time });
  }
  const withdrawn = [...byRelease.values()].sort((a, b) => (a.release < b.release ? -1 : 1));
  return validateWithdrawalList({ _type: WITHDRAWALS_TYPE, ...input, withdrawn });
}

/**
 * Signs a withdrawal list (DER ContentInfo) with a firmware signer.
 * @throws ERR_WITHDRAWALS_MALFORMED; ERR_WITHDRAWALS_SIGNER when the list's `signer` is not this signer's key
 */
export async function signWithdrawalList(signer: AttestationSigner, list: WithdrawalList, signingTime: Date): Promise<Uint8Array> {
  const content = encodeWithdrawalList(list);
  if (list.signer !== signer.spkiSha256)
    throw new CustodyError('ERR_WITHDRAWALS_SIGNER', `withdrawal list: "signer" is ${list.signer}, but the signing key is ${signer.spkiSha256}`);
  return signEncodedStatement(signer, content, signingTime);
}

/**
 * Strict parse of a withdrawal list's envelope and content; checks no signature.
 * @throws ERR_WITHDRAWALS_MALFORMED naming what is wrong; ERR_WITHDRAWALS_HIGH_S
 */
export function parseWithdrawalList(der: Uint8Array): { envelope: SignedEnvelope; list: WithdrawalList } {
  const envelope = openSignedDocument(der, MAX_WITHDRAWALS_BYTES, CODES);
  let text: string;
  try {
    text = fromUtf8(envelope.statementBytes);
  } catch (e) {
    throw new CustodyError('ERR_WITHDRAWALS_MALFORMED', 'withdrawal list: content is not UTF-8 JSON', { cause: e });
  }
  return { envelope, list: validateWithdrawalList(parseStrictJSON(text, { code: 'ERR_WITHDRAWALS_MALFORMED', what: 'withdrawal list', maxDepth: 3 })) };
}

/**
 * Parses a withdrawal list and checks its signature and its signer (codeSigning EKU, a path to a trusted root at
 * `at`). Whether it is current is the caller's rule (`checkUpdate`: `nextUpdate`, and the last number seen).
 * @throws as `parseWithdrawalList`; ERR_WITHDRAWALS_SIGNATURE, ERR_WITHDRAWALS_SIGNER, ERR_WITHDRAWALS_SIGNER_EKU,
 *   ERR_WITHDRAWALS_SIGNER_CHAIN
 */
export async function verifyWithdrawalList(der: Uint8Array, trust: ReleaseTrust, at: Date): Promise<VerifiedWithdrawals> {
  const { envelope, list } = parseWithdrawalList(der);
  const signer = await checkCodeSigner(envelope, list.signer, trust, at, CODES);
  const sync = trust.provider.sync;
  const hash = sync ? sync.digestHexSync('SHA-256', der) : toHex(await trust.provider.digest('SHA-256', der));
  return { envelope, list, hash, signer, releases: new Set(list.withdrawn.map((w) => w.release)) };
}
