/**
 * The journal record codec of the embedded store: the one module that knows a journal record's fields, their
 * order and their version. Everything else writes records through `encodeDeviceRecord` and
 * `encodeAttestationRecord` and reads them through `readRecord`, `readHeads` and `readRecordsFrom`, which
 * check each record's shape: a record that does not decode is ERR_STORE_CORRUPT naming the journal file and the
 * byte offset of its line, never a TypeError later.
 *
 * Version 1 (the only one): records carry no `v` member, which stands for 1. A later format writes `"v":N`
 * first; this build refuses any version but 1 with ERR_STORE_VERSION rather than misread it.
 *
 *   device record       {"t":"device","tip":{"s","n","h","f"?},"d":{DeviceDoc}}      `d` last (see DOC_FIELD)
 *   attestation record  {"t":"att","s","q","a","h","l","b":{"segment","offset","length"},"f"?}
 *   commit line         {"t":"commit","n"}                                              (journal.ts)
 *
 * Field order is part of the format: a reader of chain tips reads a device record up to `,"d":` and no further
 * (journal.ts `readMany` with `without`), so `d` is the last member of a device record and no member before it
 * holds a key `d`; an attestation record's text is built by joining strings (below), in the order listed.
 */
import { CustodyError } from '@custody/core/errors';
import { toBase64 } from '@custody/core/util';
import { isHex64 } from '@custody/core/attestation';
import type { ChainFacts, DeviceRecord } from '@custody/core/ports';
import type { RecordPosition } from './hash-index.js';
import { EncodedRecord, type Journal, type JournalPosition } from './journal.js';

/** The record format this build writes and reads. */
export const JOURNAL_RECORD_VERSION = 1;

/** The last member of a device record, which tip readers leave unparsed. */
export const DOC_FIELD = 'd';

/** A device as a journal record and as a document: the registry's fields, binary parts base64. */
export interface DeviceDoc extends Omit<DeviceRecord, 'certificate' | 'attestations' | 'chain'> {
  certificate: string;
  attestations: string[];
  chain?: string[];
  /** Hex SHA-256 of the newest attestation: what the next one's `prev` must be. */
  head?: string;
  /**
   * The log leaf index of each attestation, numbered before the journal write, so that replaying a record
   * appends the same leaves at the same indexes (absent in records older than the log).
   */
  log?: number[];
}

/**
 * A later attestation of a device (a handoff, an activation), appended without rewriting the device's
 * document: the serial index points at a device's newest record, and each one names the record before it.
 */
export interface AttestationRecord {
  t: 'att';
  /** Device serial. */
  s: string;
  /** The attestation's place in the chain (seq). */
  q: number;
  /** The attestation DER, base64. */
  a: string;
  /** Hex SHA-256 of the attestation DER: what the next one's `prev` must be. */
  h: string;
  /** Its log leaf index. */
  l: number;
  /** The device's previous record: a device document or another attestation record. */
  b: RecordPosition;
  /** What the attestation's statement says (absent in older records, and where none is readable). */
  f?: ChainFacts;
}

/**
 * Where a device document leaves its chain, written ahead of the document in its record so that a reader of
 * chain tips parses these few fields and not the kilobytes of base64 after them. Absent in records older than it.
 */
export interface DeviceTip {
  /** Device serial. */
  s: string;
  /** Number of attestations. */
  n: number;
  /** Hex SHA-256 of the newest attestation, null before birth. */
  h: string | null;
  /** What the newest attestation's statement says (absent where none is readable). */
  f?: ChainFacts;
}

export interface DeviceJournalRecord {
  t: 'device';
  tip?: DeviceTip;
  d: DeviceDoc;
}

/** A journal record. */
export type JournalRecord = DeviceJournalRecord | AttestationRecord;

/** A journal record as `readHeads` gives it: a device record that has a tip comes without `d`. */
export type HeadOfRecord = JournalRecord | { t: 'device'; tip?: DeviceTip; d?: undefined };

// --- encoding ---

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** A device record: its tip, then its document, last. */
export function encodeDeviceRecord(tip: DeviceTip, d: DeviceDoc): EncodedRecord {
  // The document's members are the store's own (toDoc); JSON.stringify keeps its insertion order.
  return new EncodedRecord(['{"t":"device","tip":', JSON.stringify(tip), ',"d":', JSON.stringify(d), '}']);
}

/**
 * The journal text of an attestation record: the same JSON as JSON.stringify gives for it, built by joining
 * strings (JSON.stringify scans the kilobyte of base64 for characters to escape; base64 and hex have none).
 * The base64 is made here from the DER and the hash is checked to be hex, so nothing unescaped comes from
 * outside; the serial goes through JSON.stringify.
 */
export function encodeAttestationRecord(r: Omit<AttestationRecord, 'a'>, der: Uint8Array): EncodedRecord {
  if (typeof r.s !== 'string') throw new TypeError(`an attestation record's serial must be a string, not ${typeof r.s}`);
  if (!isHex64(r.h)) throw new TypeError(`an attestation record's hash must be 64 hex digits, not ${r.h}`);
  const b = r.b;
  // Checked one by one, not by a loop over an array of them: this runs once per device of a handoff batch.
  if (
    !Number.isSafeInteger(r.q) ||
    !Number.isSafeInteger(r.l) ||
    !Number.isSafeInteger(b.segment) ||
    !Number.isSafeInteger(b.offset) ||
    !Number.isSafeInteger(b.length)
  ) {
    throw new TypeError(`an attestation record's numbers must be integers, not ${[r.q, r.l, b.segment, b.offset, b.length].join(', ')}`);
  }
  const serial = JSON.stringify(r.s);
  const facts = r.f === undefined ? undefined : factsText(r.f);
  const head = '{"t":"att","s":' + serial + ',"q":' + r.q + ',"a":"';
  const tail =
    '","h":"' +
    r.h +
    '","l":' +
    r.l +
    ',"b":{"segment":' +
    b.segment +
    ',"offset":' +
    b.offset +
    ',"length":' +
    b.length +
    '}' +
    (facts === undefined ? '}' : facts.text + '}');
  return new EncodedRecord([head, toBase64(der), tail], PRINTABLE_ASCII.test(serial) && (facts === undefined || facts.ascii));
}

/** The `,"f":{...}` member of an attestation record's text, and whether it is printable ASCII. */
function factsText(f: ChainFacts): { text: string; ascii: boolean } {
  const { custodian, activated, subject } = f;
  if (!isHex64(custodian) || !isHex64(subject.digest.sha256) || typeof activated !== 'boolean')
    throw new TypeError("an attestation record's facts must hold two hex SHA-256 and a boolean");
  const name = JSON.stringify(subject.name);
  return {
    text:
      ',"f":{"custodian":"' +
      custodian +
      '","activated":' +
      activated +
      ',"subject":{"name":' +
      name +
      ',"digest":{"sha256":"' +
      subject.digest.sha256 +
      '"}}}',
    ascii: PRINTABLE_ASCII.test(name),
  };
}

// --- decoding ---

/** Where a record was read, for messages. */
export interface RecordSite {
  readonly file: string;
  readonly offset: number;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function bad(at: RecordSite, what: string): CustodyError {
  return new CustodyError('ERR_STORE_CORRUPT', `${at.file}: journal record at byte ${at.offset} does not decode (${what})`, { file: at.file });
}

/** The record's version, checked: absent stands for 1. */
function checkVersion(v: Obj, at: RecordSite): void {
  if (v.v === undefined || v.v === JOURNAL_RECORD_VERSION) return;
  throw new CustodyError(
    'ERR_STORE_VERSION',
    `${at.file}: journal record at byte ${at.offset} has version ${JSON.stringify(v.v)}; this build reads version ${JOURNAL_RECORD_VERSION} only`,
    { file: at.file },
  );
}

function checkFacts(f: unknown, at: RecordSite, where: string): void {
  if (f === undefined) return;
  if (
    !isObj(f) ||
    !isHex64(f.custodian) ||
    typeof f.activated !== 'boolean' ||
    !isObj(f.subject) ||
    typeof f.subject.name !== 'string' ||
    !isObj(f.subject.digest) ||
    !isHex64(f.subject.digest.sha256)
  ) {
    throw bad(at, `${where} facts`);
  }
}

function checkPosition(b: unknown, at: RecordSite): void {
  if (!isObj(b) || !isCount(b.segment) || !isCount(b.offset) || !isCount(b.length)) throw bad(at, 'previous record position');
}

function checkTip(tip: unknown, at: RecordSite): void {
  if (tip === undefined) return;
  if (!isObj(tip) || typeof tip.s !== 'string' || !isCount(tip.n) || !(tip.h === null || isHex64(tip.h))) throw bad(at, 'device tip');
  checkFacts(tip.f, at, 'tip');
}

function checkDoc(d: unknown, at: RecordSite): void {
  if (!isObj(d)) throw bad(at, 'device document');
  if (typeof d.serial !== 'string' || typeof d.certificate !== 'string' || !isStringArray(d.attestations))
    throw bad(at, 'device serial, certificate or attestations');
  if (
    typeof d.certSerial !== 'string' ||
    typeof d.spkiSha256 !== 'string' ||
    typeof d.certSha256 !== 'string' ||
    typeof d.issuer !== 'string' ||
    typeof d.issuedAt !== 'string'
  )
    throw bad(at, 'device identity fields');
  if ((d.model !== undefined && typeof d.model !== 'string') || (d.lot !== undefined && typeof d.lot !== 'string')) throw bad(at, 'device model or lot');
  if (d.chain !== undefined && !isStringArray(d.chain)) throw bad(at, 'device CA chain');
  if (d.head !== undefined && !isHex64(d.head)) throw bad(at, 'device head hash');
  if (d.log !== undefined && !(Array.isArray(d.log) && d.log.every(isCount))) throw bad(at, 'device log leaves');
}

/**
 * A journal value (a parsed line) as a record of this version, its shape checked; with `headOnly`, a device
 * record may lack its document (read without `d`).
 * @throws ERR_STORE_CORRUPT naming file and offset; ERR_STORE_VERSION for a record of another version
 */
export function decodeRecord(value: unknown, at: RecordSite, headOnly = false): HeadOfRecord {
  if (!isObj(value)) throw bad(at, 'not an object');
  checkVersion(value, at);
  if (value.t === 'att') {
    if (typeof value.s !== 'string' || !isCount(value.q) || typeof value.a !== 'string' || !isHex64(value.h) || !isCount(value.l))
      throw bad(at, 'attestation fields');
    checkPosition(value.b, at);
    checkFacts(value.f, at, 'attestation');
    return value as unknown as AttestationRecord;
  }
  if (value.t === 'device') {
    checkTip(value.tip, at);
    if (!(headOnly && value.d === undefined)) checkDoc(value.d, at);
    return value as unknown as HeadOfRecord;
  }
  throw bad(at, `unknown record type ${JSON.stringify(value.t)?.slice(0, 40)}`);
}

/** A record's site whose file name is made only for a message: a path join per record read would cost more than its checks. */
class JournalSite implements RecordSite {
  constructor(
    private readonly journal: Journal,
    private readonly segment: number,
    readonly offset: number,
  ) {}

  get file(): string {
    return this.journal.segmentFile(this.segment);
  }
}

const siteOf = (journal: Journal, pos: { segment: number; offset: number }): RecordSite => new JournalSite(journal, pos.segment, pos.offset);

/**
 * The whole record at `pos`.
 * @throws ERR_STORE_CORRUPT, ERR_STORE_VERSION
 */
export function readRecord(journal: Journal, pos: RecordPosition): JournalRecord {
  return decodeRecord(journal.readAt(pos), siteOf(journal, pos)) as JournalRecord;
}

/**
 * The records at `positions`, in order, device records without their document where they have a tip.
 * @throws ERR_STORE_CORRUPT, ERR_STORE_VERSION
 */
export function readHeads(journal: Journal, positions: readonly RecordPosition[]): HeadOfRecord[] {
  const values = journal.readMany(positions, DOC_FIELD);
  const out: HeadOfRecord[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = decodeRecord(values[i], siteOf(journal, positions[i]!), true);
  return out;
}

/**
 * Every committed record after `from` (see `Journal.readFrom`), decoded.
 * @throws ERR_STORE_CORRUPT, ERR_STORE_VERSION
 */
export function readRecordsFrom(
  journal: Journal,
  from: JournalPosition,
  repair = true,
): { records: Array<{ record: JournalRecord; pos: RecordPosition }>; end: JournalPosition } {
  const { records, end } = journal.readFrom(from, repair);
  return { records: records.map(({ record, pos }) => ({ record: decodeRecord(record, siteOf(journal, pos)) as JournalRecord, pos })), end };
}
