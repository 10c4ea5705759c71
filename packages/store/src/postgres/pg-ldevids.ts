/**
 * The PostgreSQL store's LDevID records (the `LDevIDRegistry` port; migration 9). A key is claimed by the first
 * device an LDevID certified it for, by the primary key of `ldevid_keys`: of two writers racing for a key, the
 * database lets one insert win, and the other sees the winner's serial. An activation's LDevID is recorded in the
 * activation's transaction (`pgLDevIDClaim`).
 */
import type { Pool, PoolClient } from 'pg';
import { CustodyError } from '@custody/core/errors';
import type { LDevIDRecord } from '@custody/core/ports';
import { inTransaction, queryRows } from './pg-database.js';
import { storeError } from './pg-errors.js';
import type { AppendClaim, ClaimRefusal } from '../append-claims.js';

const HEX64 = /^[0-9a-f]{64}$/i;

function keyBytes(spkiSha256: string): Buffer {
  if (!HEX64.test(spkiSha256)) throw new TypeError(`not a SHA-256 in hex: ${JSON.stringify(spkiSha256.slice(0, 80))}`);
  return Buffer.from(spkiSha256, 'hex');
}

/**
 * Records an LDevID in one transaction: the key's claim (kept when it is this device's already), then the record.
 * @throws ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL, ERR_STORE_IO, ERR_STORE_UNAVAILABLE
 */
export async function recordPgLDevID(pool: Pool, location: string, r: LDevIDRecord): Promise<void> {
  try {
    await inTransaction(pool, location, async (c) => {
      const refusal = await claimPgLDevID(c, location, r);
      if (refusal) throw new CustodyError(refusal.code, refusal.message);
    });
  } catch (e) {
    if (e instanceof CustodyError) throw e;
    throw storeError(e, location, 'record an LDevID');
  }
}

/**
 * Claims `r`'s key for its device and records `r`, in the transaction on `c`: the refusal when the key is another
 * device's or the certificate serial was recorded before, having recorded nothing. Of two transactions claiming
 * one key, the second's insert waits for the first to end, then sees its serial (or, after a rollback, claims it).
 */
async function claimPgLDevID(c: PoolClient, location: string, r: LDevIDRecord): Promise<ClaimRefusal | undefined> {
  const key = keyBytes(r.spkiSha256);
  await c.query('INSERT INTO ldevid_keys (spki_sha256, serial) VALUES ($1, $2) ON CONFLICT (spki_sha256) DO NOTHING', [key, r.serial]);
  const holder = (await c.query<{ serial: string }>('SELECT serial FROM ldevid_keys WHERE spki_sha256 = $1', [key])).rows[0]?.serial;
  if (holder !== r.serial)
    return {
      code: 'ERR_DUPLICATE_KEY',
      message: `${location}: the LDevID key ${r.spkiSha256.slice(0, 16)}... is certified for device ${holder}, not ${r.serial}`,
    };
  // ON CONFLICT, not a unique violation: a failed statement would abort the whole transaction (the activation too).
  const inserted = await c.query(
    'INSERT INTO ldevids (cert_serial, serial, spki_sha256, ca, issued_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cert_serial) DO NOTHING RETURNING 1',
    [r.certSerial.toLowerCase(), r.serial, key, r.ca, r.issuedAt],
  );
  if (inserted.rowCount === 1) return undefined;
  await releaseKey(c, key);
  return { code: 'ERR_DUPLICATE_CERT_SERIAL', message: `${location}: LDevID certificate serial ${r.certSerial.toLowerCase()} was recorded before` };
}

/** Drops the claim of a key no LDevID record names (one this transaction claimed and gives back). */
async function releaseKey(c: PoolClient, key: Buffer): Promise<void> {
  await c.query('DELETE FROM ldevid_keys WHERE spki_sha256 = $1 AND NOT EXISTS (SELECT 1 FROM ldevids WHERE spki_sha256 = $1)', [key]);
}

/**
 * The LDevIDs an append records with their activations, in its transaction on `c` (see append-claims.ts): an item
 * refused after its claim gives back the record and, when no other record names it, the key.
 */
export function pgLDevIDClaim(c: PoolClient, location: string): AppendClaim {
  return {
    take: (item) => (item.ldevid === undefined ? undefined : claimPgLDevID(c, location, item.ldevid)),
    giveBack: async (item) => {
      if (item.ldevid === undefined) return;
      await c.query('DELETE FROM ldevids WHERE cert_serial = $1', [item.ldevid.certSerial.toLowerCase()]);
      await releaseKey(c, keyBytes(item.ldevid.spkiSha256));
    },
  };
}

/** The device whose LDevID certifies this key. */
export async function pgLDevIDKeyHolder(pool: Pool, location: string, spkiSha256: string): Promise<string | undefined> {
  const rows = await queryRows<{ serial: string }>(
    pool,
    location,
    'SELECT serial FROM ldevid_keys WHERE spki_sha256 = $1',
    [keyBytes(spkiSha256)],
    'read an LDevID key',
  );
  return rows[0]?.serial;
}

/** The LDevIDs of a device, oldest first. */
export async function listPgLDevIDs(pool: Pool, location: string, serial: string): Promise<LDevIDRecord[]> {
  const rows = await queryRows<{ cert_serial: string; serial: string; spki: string; ca: string; issued_at: Date }>(
    pool,
    location,
    `SELECT cert_serial, serial, encode(spki_sha256, 'hex') AS spki, ca, issued_at FROM ldevids WHERE serial = $1 ORDER BY recorded`,
    [serial],
    `list the LDevIDs of device ${serial}`,
  );
  return rows.map((r) => ({ certSerial: r.cert_serial, serial: r.serial, spkiSha256: r.spki, ca: r.ca, issuedAt: new Date(r.issued_at).toISOString() }));
}
