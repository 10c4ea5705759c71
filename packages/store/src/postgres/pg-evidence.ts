/**
 * Fork evidence on PostgreSQL: device records learnt from elsewhere that disagreed with the recorded chain, one
 * row each in `evidence`, named `<location>#evidence/<id>` in messages and in the monitor's report.
 */
import type { Pool } from 'pg';
import type { DeviceRecord } from '@custody/core/ports';
import type { EvidenceRecord } from '../types.js';
import { queryRows } from './pg-database.js';
import { buf, bytes } from './pg-devices.js';

/** Keeps a disagreeing device record and why it was refused; returns where it is kept. */
export async function keepPgEvidence(pool: Pool, location: string, device: DeviceRecord, attestation: number, reason: string): Promise<string> {
  const { certificate, attestations, ...meta } = device;
  const rows = await queryRows<{ id: string }>(
    pool,
    location,
    'INSERT INTO evidence (serial, recorded_at, reason, attestation, certificate, attestations, device) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
    [device.serial, new Date().toISOString(), reason, attestation, buf(certificate), attestations.map(buf), JSON.stringify(meta)],
    `keep fork evidence for device ${device.serial}`,
  );
  return `${location}#evidence/${rows[0]!.id}`;
}

/** Every piece of fork evidence kept, oldest first. */
export async function listPgEvidence(pool: Pool, location: string): Promise<EvidenceRecord[]> {
  const rows = await queryRows<{
    id: string;
    serial: string;
    recorded_at: string;
    reason: string;
    attestation: number;
    certificate: Buffer;
    attestations: Buffer[];
    device: Omit<DeviceRecord, 'certificate' | 'attestations'>;
  }>(
    pool,
    location,
    'SELECT id, serial, recorded_at, reason, attestation, certificate, attestations, device FROM evidence ORDER BY id',
    [],
    'list fork evidence',
  );
  return rows.map((r) => ({
    source: `${location}#evidence/${r.id}`,
    serial: r.serial,
    recordedAt: r.recorded_at,
    reason: r.reason,
    attestation: r.attestation,
    device: { ...r.device, certificate: bytes(r.certificate), attestations: r.attestations.map(bytes) },
  }));
}
