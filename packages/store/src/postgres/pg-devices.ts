/**
 * The devices of the PostgreSQL store as SQL: the columns read, the row conversion, the multi-row insert of
 * devices with their attestations, the append of later attestations against the chain head, the log entries a
 * commit adds, and the lookup of devices a commit would clash with.
 */
import { nodeSha256 } from '@custody/core/node';
import type { Pool } from 'pg';
import type { ChainFacts, Conflict, DeviceRecord } from '@custody/core/ports';
import { factsOf } from '../device-records.js';
import { queryRows } from './pg-database.js';
import type { PgLogEntry } from './pg-log.js';

/** A Buffer view of bytes, for query parameters. */
export const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
/** A plain Uint8Array view of a Buffer, so that records compare equal to the ones committed. */
export const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export const DEVICE_COLUMNS = `serial, certificate, cert_serial, encode(spki_sha256, 'hex') AS spki, encode(cert_sha256, 'hex') AS cert_sha,
  issuer, model, lot, issued_at, ARRAY(SELECT a.der FROM attestations a WHERE a.serial = d.serial ORDER BY a.seq) AS atts`;

export interface DeviceRow {
  serial: string;
  certificate: Buffer;
  cert_serial: string;
  spki: string;
  cert_sha: string;
  issuer: string;
  model: string | null;
  lot: string | null;
  issued_at: string;
  atts: Buffer[];
}

export function fromRow(r: DeviceRow): DeviceRecord {
  const d: DeviceRecord = {
    serial: r.serial,
    certificate: bytes(r.certificate),
    certSerial: r.cert_serial,
    spkiSha256: r.spki,
    certSha256: r.cert_sha,
    issuer: r.issuer,
    issuedAt: r.issued_at,
    attestations: r.atts.map(bytes),
  };
  if (r.model !== null) d.model = r.model;
  if (r.lot !== null) d.lot = r.lot;
  return d;
}

/** Devices and their attestations in one statement: the devices as unnest arrays, then every attestation. */
export const INSERT_DEVICES = `WITH d AS (
  INSERT INTO devices (serial, spki_sha256, cert_serial, cert_sha256, certificate, issuer, model, lot, issued_at)
  SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::text[])
  RETURNING 1
)
INSERT INTO attestations (serial, seq, der, prev_hash, facts)
SELECT * FROM unnest($10::text[], $11::int[], $12::bytea[], $13::bytea[], $14::jsonb[])
-- Reading d makes the devices go in first, so that a duplicate device is reported as such.
WHERE (SELECT count(*) FROM d) > 0`;

export function insertDevicesParams(devices: readonly DeviceRecord[]): unknown[] {
  const cols: unknown[][] = Array.from({ length: 14 }, () => []);
  for (const d of devices) {
    cols[0]!.push(d.serial);
    cols[1]!.push(Buffer.from(d.spkiSha256, 'hex'));
    cols[2]!.push(d.certSerial);
    cols[3]!.push(Buffer.from(d.certSha256, 'hex'));
    cols[4]!.push(buf(d.certificate));
    cols[5]!.push(d.issuer);
    cols[6]!.push(d.model ?? null);
    cols[7]!.push(d.lot ?? null);
    cols[8]!.push(d.issuedAt);
    pushAttestations(cols.slice(9), d.serial, d.attestations, 0, null);
  }
  return cols;
}

/**
 * Appends attestation rows (serial, seq, der, prev_hash, facts) to column arrays, from `seq` on. Only the newest
 * gets its facts: the others are never a chain's tip again.
 */
export function pushAttestations(cols: unknown[][], serial: string, ders: readonly Uint8Array[], seq: number, prev: Buffer | null): void {
  let p = prev;
  ders.forEach((der, i) => {
    cols[0]!.push(serial);
    cols[1]!.push(seq + i);
    cols[2]!.push(buf(der));
    cols[3]!.push(p);
    cols[4]!.push(i === ders.length - 1 ? factsParam(factsOf(serial, seq + i, der)) : null);
    p = nodeSha256(der);
  });
}

/** Chain facts as a jsonb parameter (JSON text), or NULL. */
export const factsParam = (f: ChainFacts | undefined): string | null => (f ? JSON.stringify(f) : null);

export const APPEND = `WITH input AS (
  SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::jsonb[]) WITH ORDINALITY AS t(serial, prev, der, facts, ord)
), head AS (
  SELECT i.ord, i.serial, i.prev, i.der, i.facts, (d.serial IS NOT NULL) AS known, h.seq, h.hash
  FROM input i
  LEFT JOIN devices d ON d.serial = i.serial
  LEFT JOIN LATERAL (SELECT a.seq, a.hash FROM attestations a WHERE a.serial = i.serial ORDER BY a.seq DESC LIMIT 1) h ON true
), ins AS (
  INSERT INTO attestations (serial, seq, der, prev_hash, facts)
  SELECT serial, seq + 1, der, hash, facts FROM head WHERE hash = prev ORDER BY serial
  ON CONFLICT DO NOTHING
  RETURNING serial, seq
)
SELECT h.ord::int AS ord, h.known, (SELECT ins.seq FROM ins WHERE ins.serial = h.serial) AS seq FROM head h`;

/** The log entries of whole device records: every attestation, device by device, in seq order. */
export function entriesOf(devices: readonly DeviceRecord[], fromSeq = 0): PgLogEntry[] {
  return devices.flatMap((d) => d.attestations.slice(fromSeq).map((der, i) => ({ serial: d.serial, seq: fromSeq + i, der })));
}

/** Which of `candidates` clash with recorded devices: by serial, public key or certificate serial, in one query. */
export async function findPgConflicts(
  pool: Pool,
  location: string,
  candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>,
): Promise<Conflict[]> {
  if (candidates.length === 0) return [];
  const rows = await queryRows<{ kind: Conflict['kind']; value: string }>(
    pool,
    location,
    `SELECT 'serial' AS kind, serial AS value FROM devices WHERE serial = ANY($1::text[])
       UNION ALL SELECT 'key', encode(spki_sha256, 'hex') FROM devices WHERE spki_sha256 = ANY($2::bytea[])
       UNION ALL SELECT 'certSerial', cert_serial FROM devices WHERE cert_serial = ANY($3::text[])`,
    [candidates.map((c) => c.serial), candidates.map((c) => Buffer.from(c.spkiSha256, 'hex')), candidates.flatMap((c) => (c.certSerial ? [c.certSerial] : []))],
    'look up conflicts',
  );
  if (rows.length === 0) return [];
  const held = new Set(rows.map((r) => `${r.kind}:${r.value}`));
  const out: Conflict[] = [];
  for (const c of candidates) {
    if (held.has(`serial:${c.serial}`)) out.push({ kind: 'serial', value: c.serial });
    if (held.has(`key:${c.spkiSha256.toLowerCase()}`)) out.push({ kind: 'key', value: c.spkiSha256 });
    if (c.certSerial && held.has(`certSerial:${c.certSerial}`)) out.push({ kind: 'certSerial', value: c.certSerial });
  }
  return out;
}
