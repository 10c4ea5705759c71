/**
 * A device learnt from a bundle, recorded in the PostgreSQL store: new, or a longer chain of a known device,
 * or refused as a fork (the disagreeing record kept as evidence, pg-evidence.ts).
 */
import type { Pool, PoolClient } from 'pg';
import { CustodyError } from '@custody/core/errors';
import { nodeSha256 } from '@custody/core/node';
import type { DeviceRecord } from '@custody/core/ports';
import { refuseHighS } from '../low-s.js';
import { RETRIES } from './pg-database.js';
import { buf, entriesOf, INSERT_DEVICES, insertDevicesParams, pushAttestations } from './pg-devices.js';
import { duplicateError, isTransient, storeError, uniqueViolation } from './pg-errors.js';
import { keepPgEvidence } from './pg-evidence.js';
import type { PgLogEntry } from './pg-log.js';

/** What an import reads and writes through: the store's pool, a device read, a transaction, and its log append. */
export interface PgImportTarget {
  pool: Pool;
  location: string;
  read(serial: string): Promise<DeviceRecord | undefined>;
  /** Runs `fn` in one transaction. */
  write(fn: (c: PoolClient) => Promise<void>): Promise<void>;
  /** Logs `entries` in the transaction on `c` that recorded them. */
  log(c: PoolClient, entries: readonly PgLogEntry[]): Promise<void>;
}

/**
 * Records `device` (as `PgStore.importDevice` documents).
 * @throws ERR_CONFLICT_DEVICE, ERR_FORK, ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL, ERR_STORE_IO,
 * ERR_ATTESTATION_HIGH_S
 */
export async function importPgDevice(device: DeviceRecord, to: PgImportTarget): Promise<'added' | 'extended' | 'unchanged'> {
  refuseHighS(device);
  // Optimistic: read, decide, write; a concurrent writer's change shows as a constraint violation and the
  // decision is made again on the new state.
  for (let attempt = 1; ; attempt++) {
    const current = await to.read(device.serial);
    try {
      if (!current) {
        await to.write(async (c) => {
          await c.query(INSERT_DEVICES, insertDevicesParams([device]));
          await to.log(c, entriesOf([device]));
        });
        return 'added';
      }
      if (!buf(current.certificate).equals(buf(device.certificate)))
        throw new CustodyError('ERR_CONFLICT_DEVICE', `device ${device.serial}: the store holds a different certificate for this serial`);
      const a = current.attestations;
      const b = device.attestations;
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        if (!buf(a[i]!).equals(buf(b[i]!))) {
          const reason = `device ${device.serial}: attestation ${i} differs from the one recorded (the chain forked)`;
          const kept = await keepPgEvidence(to.pool, to.location, device, i, reason);
          throw new CustodyError('ERR_FORK', `${reason}; the disagreeing record is kept in ${kept}`);
        }
      }
      if (b.length <= a.length) return 'unchanged';
      const cols: unknown[][] = [[], [], [], [], []];
      pushAttestations(cols, device.serial, b.slice(a.length), a.length, a.length === 0 ? null : nodeSha256(a.at(-1)!));
      await to.write(async (c) => {
        await c.query(
          'INSERT INTO attestations (serial, seq, der, prev_hash, facts) SELECT * FROM unnest($1::text[], $2::int[], $3::bytea[], $4::bytea[], $5::jsonb[])',
          cols,
        );
        await to.log(c, entriesOf([device], a.length));
      });
      return 'extended';
    } catch (e) {
      if (e instanceof CustodyError) throw e;
      const constraint = uniqueViolation(e);
      const raced =
        constraint === 'devices_serial_key' || constraint === 'attestations_seq_key' || constraint === 'attestations_successor_key' || isTransient(e);
      if (raced && attempt < RETRIES) continue;
      throw duplicateError(e, to.location, device.serial) ?? storeError(e, to.location, `import device ${device.serial}`);
    }
  }
}
