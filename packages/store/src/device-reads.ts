/**
 * Reading devices back from the embedded store's journal: a device's document is its newest device record
 * followed by the attestation records appended after it, each naming the record before it.
 */
import { CustodyError } from '@custody/core/errors';
import { readRecord, readRecordsFrom, type AttestationRecord, type DeviceDoc } from './journal-record.js';
import type { HashIndex, RecordPosition } from './hash-index.js';
import type { Journal } from './journal.js';
import type { LeafRecord } from './log-store.js';

/**
 * A device's whole document: its newest device record with the attestation records after it, found through
 * `serials` (call with the lock held for a consistent view). `dir` names the store in messages.
 * @throws ERR_STORE_CORRUPT when an attestation record of the device points at another device's record
 */
export function readDeviceDoc(journal: Journal, serials: HashIndex, dir: string, serial: string): { doc: DeviceDoc; pos: RecordPosition } | undefined {
  const newest = serials.get(serial);
  if (!newest) return undefined;
  const later: AttestationRecord[] = [];
  for (let pos = newest; ;) {
    const rec = readRecord(journal, pos);
    if (rec.t === 'att' && rec.s === serial) {
      later.push(rec);
      pos = rec.b;
      continue;
    }
    // The index keys on a hash prefix: a record of another serial means this one is not recorded.
    if (rec.t !== 'device' || rec.d.serial !== serial) {
      if (later.length > 0) throw new CustodyError('ERR_STORE_CORRUPT', `${dir}: device ${serial}: an attestation record points at a record of another device`);
      return undefined;
    }
    if (later.length === 0) return { doc: rec.d, pos };
    later.reverse();
    const doc = {
      ...rec.d,
      attestations: [...rec.d.attestations, ...later.map((r) => r.a)],
      log: [...(rec.d.log ?? []), ...later.map((r) => r.l)],
      head: later.at(-1)!.h,
    };
    return { doc, pos: newest };
  }
}

/** The newest document of every device, in the order devices were first recorded (reads the whole journal). */
export function readNewestDocs(journal: Journal): DeviceDoc[] {
  const latest = new Map<string, DeviceDoc>();
  for (const { record } of readRecordsFrom(journal, { segment: 1, offset: 0 }, false).records) {
    if (record.t === 'device') latest.set(record.d.serial, record.d);
    else if (record.t === 'att') {
      const d = latest.get(record.s);
      if (d) latest.set(record.s, { ...d, attestations: [...d.attestations, record.a] });
    }
  }
  return [...latest.values()];
}

/** The device and attestation a log leaf stands for, read from the journal record it points at. */
export function deviceOfLeaf(journal: Journal, leaf: LeafRecord): { serial: string; seq: number } | undefined {
  const rec = readRecord(journal, leaf.pos);
  if (rec.t === 'att') return { serial: rec.s, seq: leaf.seq };
  return rec.t === 'device' ? { serial: rec.d.serial, seq: leaf.seq } : undefined;
}
