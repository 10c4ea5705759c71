/**
 * The embedded store's journal records of devices: a device document (certificate, identity, the attestations
 * it came with) and an attestation record per later attestation; their conversions to and from the registry's
 * model, and the log leaves they add.
 */
import { CustodyError } from '@custody/core/errors';
import { nodeSha256 } from '@custody/core/node';
import { toBase64 } from '@custody/core/util/bytes';
import { readChainFacts } from '@custody/core/custody/chain';
import { isHex64 } from '@custody/core/attestation/statement';
import type { ChainFacts, DeviceRecord } from '@custody/core/registry/ports';
import type { RecordPosition } from './hash-index.js';
import { EncodedRecord } from './journal.js';
import type { LogEntry } from './log-store.js';

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
 * Where a device document leaves its chain, written ahead of the document in its journal record so that a
 * reader of chain tips parses these few fields and not the kilobytes of base64 after them (journal.ts
 * `readMany` with `without: 'd'`). Absent in records older than it.
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

/** A journal record: `d` stays the last field of a device record, and nothing before it has a key `d`. */
export type JournalRecord = { t: 'device'; tip?: DeviceTip; d: DeviceDoc } | AttestationRecord;

/** A journal record as `readMany(positions, 'd')` gives it: a device record that has a tip comes without `d`. */
export type HeadOfRecord = JournalRecord | { t: 'device'; tip?: DeviceTip; d?: undefined };

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

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
  if (!Number.isSafeInteger(r.q) || !Number.isSafeInteger(r.l) || !Number.isSafeInteger(b.segment) || !Number.isSafeInteger(b.offset) || !Number.isSafeInteger(b.length)) {
    throw new TypeError(`an attestation record's numbers must be integers, not ${[r.q, r.l, b.segment, b.offset, b.length].join(', ')}`);
  }
  const serial = JSON.stringify(r.s);
  const facts = r.f === undefined ? undefined : factsText(r.f);
  const head = '{"t":"att","s":' + serial + ',"q":' + r.q + ',"a":"';
  const tail = '","h":"' + r.h + '","l":' + r.l + ',"b":{"segment":' + b.segment + ',"offset":' + b.offset + ',"length":' + b.length + '}' + (facts === undefined ? '}' : facts.text + '}');
  return new EncodedRecord([head, toBase64(der), tail], PRINTABLE_ASCII.test(serial) && (facts === undefined || facts.ascii));
}

/** The `,"f":{...}` member of an attestation record's text, and whether it is printable ASCII. */
function factsText(f: ChainFacts): { text: string; ascii: boolean } {
  const { custodian, activated, subject } = f;
  if (!isHex64(custodian) || !isHex64(subject.digest.sha256) || typeof activated !== 'boolean') throw new TypeError("an attestation record's facts must hold two hex SHA-256 and a boolean");
  const name = JSON.stringify(subject.name);
  return { text: ',"f":{"custodian":"' + custodian + '","activated":' + activated + ',"subject":{"name":' + name + ',"digest":{"sha256":"' + subject.digest.sha256 + '"}}}', ascii: PRINTABLE_ASCII.test(name) };
}

export const samePos = (a: RecordPosition, b: RecordPosition): boolean => a.segment === b.segment && a.offset === b.offset && a.length === b.length;

export const sha256Hex = (b: Uint8Array): string => nodeSha256(b).toString('hex');

export function toDoc(r: DeviceRecord): DeviceDoc {
  const d: DeviceDoc = {
    serial: r.serial,
    certificate: toBase64(r.certificate),
    certSerial: r.certSerial,
    spkiSha256: r.spkiSha256,
    certSha256: r.certSha256,
    issuer: r.issuer,
    issuedAt: r.issuedAt,
    attestations: r.attestations.map(toBase64),
  };
  if (r.model !== undefined) d.model = r.model;
  if (r.lot !== undefined) d.lot = r.lot;
  if (r.chain !== undefined) d.chain = r.chain.map(toBase64);
  const last = r.attestations.at(-1);
  if (last !== undefined) d.head = sha256Hex(last);
  return d;
}

/** The tip of a device's document (its newest attestation read once, here). */
export function deviceTip(r: DeviceRecord, doc: DeviceDoc): DeviceTip {
  const n = r.attestations.length;
  const facts = n === 0 ? undefined : factsOf(r.serial, n - 1, r.attestations[n - 1]!);
  return { s: r.serial, n, h: doc.head ?? null, ...(facts ? { f: facts } : {}) };
}

/**
 * What an attestation's statement says, to record beside it; undefined where it holds no readable statement
 * (a chain tip without facts is read from its DER, which reports the damage when someone extends the chain).
 */
export function factsOf(serial: string, seq: number, der: Uint8Array): ChainFacts | undefined {
  try {
    return readChainFacts(der, serial, seq);
  } catch {
    return undefined;
  }
}

/**
 * The bytes of a base64 field the store wrote itself (checksummed in the journal: plain decoding is enough), as a
 * plain Uint8Array view: a Buffer's subarray costs several times a Uint8Array's.
 */
export function storedBytes(s: string): Uint8Array {
  const b = Buffer.from(s, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function fromDoc(d: DeviceDoc, file: string): DeviceRecord {
  const bin = (s: string) => {
    const b = storedBytes(s);
    if (b.length === 0 && s.length > 0) throw new CustodyError('ERR_STORE_CORRUPT', `${file}: invalid base64`, { file });
    return b;
  };
  const { chain, head: _head, log: _leaves, ...rest } = d;
  const r: DeviceRecord = { ...rest, certificate: bin(d.certificate), attestations: d.attestations.map(bin) };
  if (chain !== undefined) r.chain = chain.map(bin);
  return r;
}

/**
 * Numbers the log leaves of the attestations new in each version (those past its `log` list), from `size` on,
 * in order; returns `size` (the first new leaf).
 */
export function numberLogLeaves(docs: readonly DeviceDoc[], size: number): number {
  let next = size;
  for (const d of docs) {
    const logged = d.log ?? [];
    if (logged.length >= d.attestations.length) continue;
    const leaves = [...logged];
    while (leaves.length < d.attestations.length) leaves.push(next++);
    d.log = leaves;
  }
  return size;
}

/** The log entries of a device version whose leaf index is `from` or more. */
export function logEntriesOf(d: DeviceDoc, pos: RecordPosition, from: number): LogEntry[] {
  const out: LogEntry[] = [];
  d.log?.forEach((leafIndex, seq) => {
    if (leafIndex >= from) out.push({ leafIndex, attestation: storedBytes(d.attestations[seq]!), pos, seq });
  });
  return out;
}
