/**
 * The PostgreSQL store's firmware signers, releases and withdrawal lists (schema: migrations.ts, version 8).
 * Recording a release or a list takes the table's lock for the transaction, so that the rules of
 * `release-rules.ts` (one chain, counters never lower per model, lists numbered without gaps) judge every
 * release any process recorded before it.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { CustodyError } from '@custody/core/errors';
import type { FirmwareSignerRecord, ReleaseRecord, ReleaseRegistry, WithdrawalsRecord } from '@custody/core/ports';
import { releaseConflict, withdrawalsConflict } from '../release-rules.js';
import { inTransaction, queryRows } from './pg-database.js';
import { storeError, uniqueViolation } from './pg-errors.js';

/** Firmware signers, releases and withdrawal lists of the store at `location`, on `pool`. */
export class PgReleases implements ReleaseRegistry {
  constructor(
    private readonly pool: Pool,
    private readonly location: string,
  ) {}

  private query<R extends QueryResultRow>(sql: string, params: unknown[], what: string): Promise<R[]> {
    return queryRows<R>(this.pool, this.location, sql, params, what);
  }

  async addFirmwareSigner(record: FirmwareSignerRecord): Promise<void> {
    try {
      await this.pool.query('INSERT INTO firmware_signers (name, record) VALUES ($1, $2)', [record.name, JSON.stringify(record)]);
    } catch (e) {
      if (uniqueViolation(e) === 'firmware_signers_pkey')
        throw new CustodyError('ERR_CONFLICT_NAME', `${this.location}: the firmware signer name "${record.name}" is already used`, { cause: e });
      throw storeError(e, this.location, `record firmware signer ${record.name}`);
    }
  }

  async getFirmwareSigner(name: string): Promise<FirmwareSignerRecord | undefined> {
    return (
      await this.query<{ record: FirmwareSignerRecord }>('SELECT record FROM firmware_signers WHERE name = $1', [name], `read firmware signer ${name}`)
    )[0]?.record;
  }

  async listFirmwareSigners(): Promise<FirmwareSignerRecord[]> {
    return (await this.query<{ record: FirmwareSignerRecord }>('SELECT record FROM firmware_signers ORDER BY added', [], 'list firmware signers')).map(
      (r) => r.record,
    );
  }

  async recordRelease(record: ReleaseRecord): Promise<void> {
    const conflict = await this.locked('releases', `record release ${record.hash}`, async (c) => {
      const exists = (await c.query('SELECT 1 FROM releases WHERE hash = $1', [record.hash])).rowCount! > 0;
      const newest = (await c.query<{ hash: string }>('SELECT hash FROM releases ORDER BY added DESC LIMIT 1')).rows[0]?.hash ?? null;
      const sameModels = (
        await c.query<{ record: ReleaseRecord }>("SELECT record FROM releases WHERE record->'models' ?| $1::text[]", [record.models])
      ).rows.map((r) => r.record);
      const refused = releaseConflict(record, { exists, newest, sameModels }, this.location);
      if (!refused) await c.query('INSERT INTO releases (hash, record) VALUES ($1, $2)', [record.hash, JSON.stringify(record)]);
      return refused;
    });
    if (conflict) throw conflict;
  }

  async listReleases(): Promise<ReleaseRecord[]> {
    return (await this.query<{ record: ReleaseRecord }>('SELECT record FROM releases ORDER BY added', [], 'list releases')).map((r) => r.record);
  }

  async getRelease(hash: string): Promise<ReleaseRecord | undefined> {
    return (await this.query<{ record: ReleaseRecord }>('SELECT record FROM releases WHERE hash = $1', [hash], `read release ${hash}`))[0]?.record;
  }

  async recordWithdrawals(record: WithdrawalsRecord): Promise<void> {
    const conflict = await this.locked('release_withdrawals', `record withdrawal list ${record.number}`, async (c) => {
      const newest = (await c.query<{ n: string | null }>('SELECT max(number) AS n FROM release_withdrawals')).rows[0]?.n;
      const refused = withdrawalsConflict(record.number, newest === null || newest === undefined ? 0 : Number(newest), this.location);
      if (!refused) await c.query('INSERT INTO release_withdrawals (number, record) VALUES ($1, $2)', [record.number, JSON.stringify(record)]);
      return refused;
    });
    if (conflict) throw conflict;
  }

  async latestWithdrawals(): Promise<WithdrawalsRecord | undefined> {
    return (
      await this.query<{ record: WithdrawalsRecord }>('SELECT record FROM release_withdrawals ORDER BY number DESC LIMIT 1', [], 'read withdrawal list')
    )[0]?.record;
  }

  /** Runs `fn` in a transaction holding `table`'s write lock (readers go on); a failure becomes a store error. */
  private async locked<T>(table: string, what: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.pool, this.location, async (c) => {
        await c.query(`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`);
        return fn(c);
      });
    } catch (e) {
      if (e instanceof CustodyError) throw e;
      throw storeError(e, this.location, what);
    }
  }
}
