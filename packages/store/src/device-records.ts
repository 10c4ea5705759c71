/**
 * The embedded store's device documents (certificate, identity, the attestations it came with): their conversions
 * to and from the registry's model, and the log leaves they add. The journal records that carry them, their fields
 * and their order, are journal-record.ts's.
 */
import { CustodyError } from '@custody/core/errors';
import { nodeSha256 } from '@custody/core/node';
import { toBase64 } from '@custody/core/util';
import { readChainFacts } from '@custody/core/attestation';
import type { ChainFacts, DeviceRecord } from '@custody/core/ports';
import type { RecordPosition } from './hash-index.js';
import type { DeviceDoc, DeviceTip } from './journal-record.js';
import type { LogEntry } from './log-store.js';

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
