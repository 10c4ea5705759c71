/**
 * Fork evidence of the embedded store: device records learnt from elsewhere that disagreed with the recorded
 * chain, one JSON file each under `evidence/`, kept for the monitor and for people.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import { fromDoc } from './device-records.js';
import type { DeviceDoc } from './journal-record.js';
import type { EvidenceRecord } from './types.js';

/** Writes `<dir>/<serial>-<time>.json`: the device record from elsewhere and why it was refused; returns its path. */
export function keepEvidence(dir: string, doc: DeviceDoc, attestation: number, reason: string): string {
  mkdirSync(dir, { recursive: true });
  const recordedAt = new Date().toISOString();
  const { log: _leaves, head: _head, ...device } = doc;
  const base = `${doc.serial.replace(/[^A-Za-z0-9._-]/g, '_')}-${recordedAt.replace(/[:.]/g, '-')}`;
  // The device record at the top level (as a DeviceDoc), what was wrong with it under `evidence`.
  const text = JSON.stringify({ ...device, evidence: { recordedAt, reason, attestation } }, null, 1) + '\n';
  for (let n = 0; ; n++) {
    const file = join(dir, n === 0 ? `${base}.json` : `${base}-${n}.json`);
    try {
      writeFileSync(file, text, { flag: 'wx' });
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new CustodyError('ERR_STORE_IO', `${file}: cannot keep fork evidence (${(e as NodeJS.ErrnoException).code})`, { file, cause: e });
    }
  }
}

/** Every piece of evidence kept in `dir`, oldest first. */
export function listEvidence(dir: string): EvidenceRecord[] {
  if (!existsSync(dir)) return [];
  const out: EvidenceRecord[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const file = join(dir, name);
    let doc: DeviceDoc & { evidence: { recordedAt: string; reason: string; attestation: number } };
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new CustodyError('ERR_STORE_CORRUPT', `${file}: not a fork evidence file`, { file, cause: err });
    }
    const { evidence, ...device } = doc;
    out.push({
      source: file,
      serial: device.serial,
      recordedAt: evidence.recordedAt,
      reason: evidence.reason,
      attestation: evidence.attestation,
      device: fromDoc(device, file),
    });
  }
  return out.sort((x, y) => x.recordedAt.localeCompare(y.recordedAt) || x.source.localeCompare(y.source));
}
