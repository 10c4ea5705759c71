/**
 * The PostgreSQL store's named records (schema: migrations.ts): CAs and parties in one namespace of names,
 * revocations and CRL numbers per CA, challenge nonces, the log's settings and the checkpoints seen of other
 * logs. Each operation is one statement, its uniqueness or foreign-key violation the conflict it reports.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { CustodyError } from '@custody/core/errors';
import { isNonceHex } from '../challenges.js';
import type { CARecord, LogConfig, PartyRecord, Revocation } from '../types.js';
import { queryRows } from './pg-database.js';
import { buf } from './pg-devices.js';
import { sqlState, storeError, uniqueViolation } from './pg-errors.js';

/** A foreign-key violation on a CA name: the store has no such CA. */
function unknownCA(name: string, location: string, cause: unknown): CustodyError {
  return new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${name}" in ${location}`, { cause });
}

/** The named records of the store at `location` (its URL without password), on `pool`. */
export class PgDocuments {
  constructor(
    private readonly pool: Pool,
    private readonly location: string,
  ) {}

  private query<R extends QueryResultRow>(sql: string, params: unknown[], what: string): Promise<R[]> {
    return queryRows<R>(this.pool, this.location, sql, params, what);
  }

  async getCA(name: string): Promise<CARecord | undefined> {
    const rows = await this.query<{ record: CARecord }>('SELECT record FROM cas WHERE name = $1', [name], `read CA ${name}`);
    return rows[0]?.record;
  }

  async listCAs(): Promise<CARecord[]> {
    return (await this.query<{ record: CARecord }>('SELECT record FROM cas ORDER BY added', [], 'list CAs')).map((r) => r.record);
  }

  /** @throws ERR_CONFLICT_NAME when a CA or party already has the name */
  async addCA(record: CARecord): Promise<void> {
    await this.addNamed(
      'ca',
      record.name,
      `WITH n AS (INSERT INTO names (name, kind) VALUES ($1, 'ca') RETURNING name) INSERT INTO cas (name, record) SELECT name, $2 FROM n`,
      [record.name, JSON.stringify(record)],
    );
  }

  async getParty(name: string): Promise<PartyRecord | undefined> {
    const rows = await this.query<{ record: PartyRecord }>('SELECT record FROM parties WHERE name = $1', [name], `read party ${name}`);
    return rows[0]?.record;
  }

  async listParties(): Promise<PartyRecord[]> {
    return (await this.query<{ record: PartyRecord }>('SELECT record FROM parties ORDER BY added', [], 'list parties')).map((r) => r.record);
  }

  /** @throws ERR_CONFLICT_NAME when a CA or party already has the name */
  async addParty(record: PartyRecord): Promise<void> {
    await this.addNamed(
      'party',
      record.name,
      `WITH n AS (INSERT INTO names (name, kind) VALUES ($1, 'party') RETURNING name) INSERT INTO parties (name, spki_sha256, record) SELECT name, $2, $3 FROM n`,
      [record.name, record.spkiSha256, JSON.stringify(record)],
    );
  }

  private async addNamed(kind: string, name: string, sql: string, params: unknown[]): Promise<void> {
    try {
      await this.pool.query(sql, params);
    } catch (e) {
      if (uniqueViolation(e) === 'names_pkey')
        throw new CustodyError('ERR_CONFLICT_NAME', `${this.location}: the name "${name}" is already used in this store`, { cause: e });
      throw storeError(e, this.location, `record ${kind} ${name}`);
    }
  }

  /** @throws ERR_USAGE_UNKNOWN_CA, ERR_CONFLICT_REVOKED when the serial is already revoked */
  async revoke(caName: string, revocation: Revocation): Promise<void> {
    try {
      await this.pool.query('INSERT INTO revocations (ca, serial_hex, record) VALUES ($1, $2, $3)', [caName, revocation.serialHex, JSON.stringify(revocation)]);
    } catch (e) {
      if (uniqueViolation(e) === 'revocations_pkey')
        throw new CustodyError('ERR_CONFLICT_REVOKED', `certificate serial ${revocation.serialHex} of CA "${caName}" was already revoked`, { cause: e });
      if (sqlState(e) === '23503') throw unknownCA(caName, this.location, e);
      throw storeError(e, this.location, `revoke ${revocation.serialHex} of CA ${caName}`);
    }
  }

  async listRevocations(caName: string): Promise<Revocation[]> {
    const rows = await this.query<{ record: Revocation }>(
      'SELECT record FROM revocations WHERE ca = $1 ORDER BY recorded',
      [caName],
      `list revocations of CA ${caName}`,
    );
    return rows.map((r) => r.record);
  }

  /** @throws ERR_USAGE_UNKNOWN_CA */
  async nextCRLNumber(caName: string): Promise<number> {
    try {
      const r = await this.pool.query<{ last: string }>(
        'INSERT INTO crl_numbers (ca, last) VALUES ($1, 1) ON CONFLICT (ca) DO UPDATE SET last = crl_numbers.last + 1 RETURNING last',
        [caName],
      );
      return Number(r.rows[0]!.last);
    } catch (e) {
      if (sqlState(e) === '23503') throw unknownCA(caName, this.location, e);
      throw storeError(e, this.location, `allocate a CRL number for CA ${caName}`);
    }
  }

  /** @throws ERR_CONFLICT_CHALLENGE when the nonce was recorded before */
  async recordChallenge(nonceHex: string, challenge: Uint8Array): Promise<void> {
    if (!isNonceHex(nonceHex))
      throw new CustodyError(
        'ERR_USAGE_CHALLENGE_NONCE',
        `${this.location}: challenge nonce ${JSON.stringify(nonceHex.slice(0, 140))} is not 32 to 128 lower-case hex digits`,
      );
    try {
      await this.pool.query('INSERT INTO challenges (nonce, challenge) VALUES ($1, $2)', [nonceHex, buf(challenge)]);
    } catch (e) {
      if (uniqueViolation(e) === 'challenges_pkey')
        throw new CustodyError('ERR_CONFLICT_CHALLENGE', `${this.location}: challenge nonce ${nonceHex} was issued before`, { cause: e });
      throw storeError(e, this.location, 'record a challenge');
    }
  }

  /** Marks a nonce used; of two verifiers consuming one nonce at once, exactly one gets 'consumed'. */
  async consumeChallenge(nonceHex: string): Promise<'consumed' | 'already-used' | 'unknown'> {
    try {
      return await spendChallenge(this.pool, nonceHex);
    } catch (e) {
      throw storeError(e, this.location, 'consume a challenge');
    }
  }

  /** The challenge recorded under a nonce and whether it was spent; undefined when never recorded. */
  async readChallenge(nonceHex: string): Promise<{ bytes: Uint8Array; used: boolean } | undefined> {
    if (!isNonceHex(nonceHex)) return undefined;
    const rows = await this.query<{ challenge: Buffer; used: boolean }>(
      'SELECT challenge, used_at IS NOT NULL AS used FROM challenges WHERE nonce = $1',
      [nonceHex],
      'read a challenge',
    );
    const r = rows[0];
    return r && { bytes: new Uint8Array(r.challenge), used: r.used };
  }

  async getLogConfig(): Promise<LogConfig | undefined> {
    const rows = await this.query<{ origin: string; key_ref: LogConfig['key']; created_at: string }>(
      'SELECT origin, key_ref, created_at FROM log_config',
      [],
      'read the log settings',
    );
    const r = rows[0];
    return r && { origin: r.origin, key: r.key_ref, createdAt: r.created_at };
  }

  /** @throws ERR_CONFLICT_LOG_EXISTS when the store already has a log key */
  async setLogConfig(config: LogConfig): Promise<void> {
    const rows = await this.query<{ origin: string; inserted: boolean }>(
      `WITH ins AS (INSERT INTO log_config (origin, key_ref, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING origin)
       SELECT origin, true AS inserted FROM ins UNION ALL SELECT origin, false FROM log_config`,
      [config.origin, JSON.stringify(config.key), config.createdAt],
      'record the log settings',
    );
    if (!rows.some((r) => r.inserted))
      throw new CustodyError('ERR_CONFLICT_LOG_EXISTS', `${this.location}: this store already has a log key (origin ${rows[0]?.origin ?? '?'})`);
  }

  async getSeenCheckpoint(origin: string): Promise<string | undefined> {
    const rows = await this.query<{ note: string }>('SELECT note FROM seen_checkpoints WHERE origin = $1', [origin], `read the checkpoint seen of ${origin}`);
    return rows[0]?.note;
  }

  async putSeenCheckpoint(origin: string, note: string): Promise<void> {
    await this.query(
      'INSERT INTO seen_checkpoints (origin, note) VALUES ($1, $2) ON CONFLICT (origin) DO UPDATE SET note = EXCLUDED.note',
      [origin, note],
      `remember a checkpoint of ${origin}`,
    );
  }
}

/** Marks a challenge used (inside the caller's transaction, given a client); of two spending it, one gets 'consumed'. */
export async function spendChallenge(c: Pool | PoolClient, nonceHex: string): Promise<'consumed' | 'already-used' | 'unknown'> {
  if (!isNonceHex(nonceHex)) return 'unknown';
  const r = await c.query<{ consumed: boolean; known: boolean }>(
    `WITH u AS (UPDATE challenges SET used_at = now() WHERE nonce = $1 AND used_at IS NULL RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM u) AS consumed, EXISTS (SELECT 1 FROM challenges WHERE nonce = $1) AS known`,
    [nonceHex],
  );
  const row = r.rows[0]!;
  return row.consumed ? 'consumed' : row.known ? 'already-used' : 'unknown';
}
