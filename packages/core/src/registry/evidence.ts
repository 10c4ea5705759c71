/**
 * Fork evidence: device records learnt from elsewhere that disagreed with the recorded chain. Core declares the
 * port; each backend keeps the records its own way (files, rows) and hands them back whole, so that no caller
 * needs to know where they are kept.
 */
import type { DeviceRecord } from './ports.js';

/** A disagreeing device record and why it was refused. */
export interface EvidenceRecord {
  /**
   * Where it is kept, for messages and reports: a file path (embedded store) or `<location>#evidence/<id>`
   * (PostgreSQL). A name, never something to open: the record itself is `device`.
   */
  source: string;
  serial: string;
  /** RFC 3339 time it was recorded. */
  recordedAt: string;
  /** Why it was refused. */
  reason: string;
  /** The first attestation index where the chains differ. */
  attestation: number;
  /** The record as it was learnt: certificate and attestations as DER. */
  device: DeviceRecord;
}

/** Where a registry keeps fork evidence. */
export interface EvidenceRegistry {
  /**
   * Every piece of evidence kept, oldest first.
   * @throws ERR_STORE_CORRUPT when a kept record does not read back; ERR_STORE_IO, ERR_STORE_UNAVAILABLE
   */
  listEvidence(): Promise<EvidenceRecord[]>;
}
