/**
 * The PostgreSQL schema as versioned migrations. Each runs once, in its own transaction, and is recorded in
 * `schema_migrations`; `custody init` applies the missing ones, opening a store requires all of them.
 *
 * The integrity rules live in the schema, so that they hold for every process writing to the database:
 *   - devices: serial, public key hash and certificate serial are each unique;
 *   - attestations: `hash` is computed by the database from the DER; each attestation after the birth names
 *     the attestation at `seq - 1` of the same device by its hash (a foreign key), so the chain order cannot be
 *     broken; and no attestation has two successors (a unique index on (serial, prev_hash)): the
 *     one-successor rule that refuses a second transfer from the same point;
 *   - log_leaves: one leaf per attestation (a foreign key), leaf numbers unique; the numbering without gaps is
 *     the append path's (pg-log.ts), under the log_state row lock;
 *   - log_checkpoints: one signed checkpoint per tree size, kept only when it grows the history.
 */
import type { PoolClient } from 'pg';
import { CustodyError } from '@custody/core/errors';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, oldest first. Append new ones; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry',
    sql: `
      CREATE TABLE names (
        name text PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('ca', 'party'))
      );
      CREATE TABLE cas (
        name text PRIMARY KEY REFERENCES names (name),
        record jsonb NOT NULL,
        added bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE TABLE parties (
        name text PRIMARY KEY REFERENCES names (name),
        spki_sha256 text NOT NULL,
        record jsonb NOT NULL,
        added bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE INDEX parties_spki_sha256 ON parties (spki_sha256);
      CREATE TABLE devices (
        serial text NOT NULL,
        spki_sha256 bytea NOT NULL,
        cert_serial text NOT NULL,
        cert_sha256 bytea NOT NULL,
        certificate bytea NOT NULL,
        issuer text NOT NULL,
        model text,
        lot text,
        issued_at text NOT NULL,
        recorded bigint GENERATED ALWAYS AS IDENTITY,
        CONSTRAINT devices_serial_key PRIMARY KEY (serial),
        CONSTRAINT devices_spki_key UNIQUE (spki_sha256),
        CONSTRAINT devices_cert_serial_key UNIQUE (cert_serial)
      );
      CREATE INDEX devices_lot ON devices (lot, recorded) WHERE lot IS NOT NULL;
      CREATE TABLE attestations (
        serial text NOT NULL REFERENCES devices (serial),
        seq integer NOT NULL CHECK (seq >= 0),
        der bytea NOT NULL,
        hash bytea GENERATED ALWAYS AS (sha256(der)) STORED,
        prev_hash bytea,
        CONSTRAINT attestations_seq_key PRIMARY KEY (serial, seq),
        CONSTRAINT attestations_hash_key UNIQUE (hash),
        CONSTRAINT attestations_link_key UNIQUE (serial, seq, hash),
        CONSTRAINT attestations_birth_check CHECK ((seq = 0) = (prev_hash IS NULL)),
        -- (seq - 1) as a stored column, so that a foreign key can name the predecessor
        prev_seq integer GENERATED ALWAYS AS (seq - 1) STORED,
        CONSTRAINT attestations_prev_fkey FOREIGN KEY (serial, prev_seq, prev_hash) REFERENCES attestations (serial, seq, hash)
      );
      -- The one-successor rule: a second attestation extending the same one is refused.
      CREATE UNIQUE INDEX attestations_successor_key ON attestations (serial, prev_hash) WHERE prev_hash IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'possession-challenges',
    sql: `
      CREATE TABLE challenges (
        nonce text PRIMARY KEY,
        challenge bytea NOT NULL,
        used_at timestamptz
      );
    `,
  },
  {
    version: 3,
    name: 'revocations',
    sql: `
      CREATE TABLE revocations (
        ca text NOT NULL REFERENCES cas (name),
        serial_hex text NOT NULL,
        record jsonb NOT NULL,
        recorded bigint GENERATED ALWAYS AS IDENTITY,
        CONSTRAINT revocations_pkey PRIMARY KEY (ca, serial_hex)
      );
      -- The last CRLNumber issued per CA: only ever incremented (RFC 5280 5.2.3).
      CREATE TABLE crl_numbers (
        ca text PRIMARY KEY REFERENCES cas (name),
        last bigint NOT NULL CHECK (last > 0)
      );
    `,
  },
  {
    version: 4,
    name: 'fork-evidence',
    sql: `
      -- Device records from elsewhere that disagreed with the recorded chain, kept as evidence of a fork.
      CREATE TABLE evidence (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        serial text NOT NULL,
        recorded_at text NOT NULL,
        reason text NOT NULL,
        attestation integer NOT NULL,
        certificate bytea NOT NULL,
        attestations bytea[] NOT NULL,
        device jsonb NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'transparency-log',
    sql: `
      -- The log's leaves: leaf idx is attestation (serial, seq); hash is its RFC 6962 leaf hash. Numbered
      -- without gaps under the log_state row lock, in the transaction that records the attestation.
      CREATE TABLE log_leaves (
        idx bigint PRIMARY KEY CHECK (idx >= 0),
        serial text NOT NULL,
        seq integer NOT NULL,
        hash bytea NOT NULL CHECK (length(hash) = 32),
        CONSTRAINT log_leaves_attestation_key UNIQUE (serial, seq),
        CONSTRAINT log_leaves_attestation_fkey FOREIGN KEY (serial, seq) REFERENCES attestations (serial, seq)
      );
      -- Every complete subtree above the leaves: node (level, idx) is the root of leaves [idx * 2^level, (idx + 1) * 2^level).
      CREATE TABLE log_nodes (
        level smallint NOT NULL CHECK (level >= 1),
        idx bigint NOT NULL CHECK (idx >= 0),
        hash bytea NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
      );
      -- The append state, one row: the size and the frontier (the perfect subtree roots, largest first). Writers
      -- lock this row (SELECT ... FOR UPDATE) to append: that lock is what orders the log globally.
      CREATE TABLE log_state (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        size bigint NOT NULL CHECK (size >= 0),
        frontier bytea[] NOT NULL
      );
      -- The log's origin and signing key (a key reference; the key itself stays on the local disk).
      CREATE TABLE log_config (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        origin text NOT NULL,
        key_ref jsonb NOT NULL,
        created_at text NOT NULL
      );
      -- The verifier side: the newest checkpoint seen of each log, as signed-note text.
      CREATE TABLE seen_checkpoints (
        origin text PRIMARY KEY,
        note text NOT NULL
      );
      -- Attestations recorded before the log: logged now, in device recording order, level by level.
      DO $log$
      DECLARE
        lvl integer := 0;
        added bigint;
        total bigint;
      BEGIN
        INSERT INTO log_leaves (idx, serial, seq, hash)
        SELECT row_number() OVER (ORDER BY d.recorded, a.seq) - 1, a.serial, a.seq, sha256('\\x00'::bytea || a.der)
        FROM attestations a JOIN devices d USING (serial);
        GET DIAGNOSTICS total = ROW_COUNT;
        INSERT INTO log_nodes (level, idx, hash)
        SELECT 1, l.idx / 2, sha256('\\x01'::bytea || l.hash || r.hash)
        FROM log_leaves l JOIN log_leaves r ON r.idx = l.idx + 1 WHERE l.idx % 2 = 0;
        LOOP
          lvl := lvl + 1;
          INSERT INTO log_nodes (level, idx, hash)
          SELECT lvl + 1, l.idx / 2, sha256('\\x01'::bytea || l.hash || r.hash)
          FROM log_nodes l JOIN log_nodes r ON r.level = lvl AND r.idx = l.idx + 1 WHERE l.level = lvl AND l.idx % 2 = 0;
          GET DIAGNOSTICS added = ROW_COUNT;
          EXIT WHEN added = 0;
        END LOOP;
        INSERT INTO log_state (id, size, frontier)
        SELECT true, total, ARRAY(
          SELECT coalesce(n.hash, l.hash)
          FROM generate_series(62, 0, -1) AS b(level)
          LEFT JOIN log_nodes n ON b.level > 0 AND n.level = b.level AND n.idx = (total >> b.level) - 1
          LEFT JOIN log_leaves l ON b.level = 0 AND l.idx = total - 1
          WHERE (total >> b.level) & 1 = 1
          ORDER BY b.level DESC);
      END
      $log$;
    `,
  },
  {
    version: 6,
    name: 'checkpoint-history',
    sql: `
      -- The checkpoints this store's log signed, kept only as the log grows (pg-checkpoints.ts): the first one
      -- whose tree holds a leaf is the earliest proof of when it was logged.
      CREATE TABLE log_checkpoints (
        tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
        note text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 7,
    name: 'attestation-facts',
    sql: `
      -- What an attestation's statement says (ChainFacts: custodian, activated, subject), written beside it so that
      -- extending a chain needs no DER of its newest attestation. NULL where the writer did not give them, in rows
      -- older than this column, or for a statement that cannot be read: the DER is read then.
      ALTER TABLE attestations ADD COLUMN facts jsonb;
    `,
  },
  {
    version: 8,
    name: 'releases',
    sql: `
      -- Firmware signers, releases and withdrawal lists (pg-releases.ts). The chain, counter and numbering rules
      -- are checked under each table's lock; the keys here refuse a second signer of one name, a release recorded
      -- twice and a list number used twice.
      CREATE TABLE firmware_signers (
        name text PRIMARY KEY,
        record jsonb NOT NULL,
        added bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE TABLE releases (
        hash text PRIMARY KEY,
        record jsonb NOT NULL,
        added bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE TABLE release_withdrawals (
        number bigint PRIMARY KEY CHECK (number >= 1),
        record jsonb NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'ldevids',
    sql: `
      -- LDevIDs issued at activation (pg-ldevids.ts). A key belongs to the first device an LDevID certified it
      -- for: ldevid_keys has one row a key, so that of two devices racing for a key, one insert wins.
      CREATE TABLE ldevid_keys (
        spki_sha256 bytea PRIMARY KEY CHECK (octet_length(spki_sha256) = 32),
        serial text NOT NULL
      );
      CREATE TABLE ldevids (
        cert_serial text PRIMARY KEY,
        serial text NOT NULL,
        spki_sha256 bytea NOT NULL REFERENCES ldevid_keys (spki_sha256),
        ca text NOT NULL,
        issued_at timestamptz NOT NULL,
        recorded bigserial
      );
      CREATE INDEX ldevids_serial ON ldevids (serial, recorded);
    `,
  },
];

/** The schema version this build reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

// Any fixed key serves: it only serialises concurrent `init` runs on one database.
const MIGRATION_LOCK = 0x637573746f6479n;

/** The highest applied migration, 0 for an empty database. */
export async function schemaVersion(client: PoolClient): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return r.rows[0]?.v ?? 0;
}

/**
 * Applies the migrations the database lacks, each in its own transaction, holding an advisory lock so that two
 * concurrent runs do not race.
 * @returns the versions applied now
 * @throws ERR_STORE_VERSION when the database is newer than this build
 */
export async function migrate(client: PoolClient, location: string, now: Date): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
  try {
    await client.query(CREATE_TABLE);
    const current = await schemaVersion(client);
    if (current > SCHEMA_VERSION) throw newerSchema(location, current);
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, now.toISOString()]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
  }
}

/** The error for a database migrated by a newer build. */
export function newerSchema(location: string, version: number): CustodyError {
  return new CustodyError('ERR_STORE_VERSION', `${location}: schema version ${version} is newer than this build supports (${SCHEMA_VERSION}); upgrade custody`);
}
