/**
 * The registry on PostgreSQL, for sites where several stations share one store.
 *
 * Every integrity rule is a constraint of the schema (migrations.ts), not a lock in this process: serials,
 * device keys and certificate serials are unique, an attestation must name its predecessor by hash, and an
 * attestation can have only one successor. Concurrent writers therefore need no coordination here; a
 * writer that loses a race gets the constraint violation, mapped to the same codes the embedded store uses.
 *
 * Every attestation goes into the transparency log in the transaction that records it (pg-log.ts).
 *
 * Private keys never enter the database: `keyDir` is a folder on the local disk.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { CustodyError } from '@custody/core/errors';
import { nodeSha256 } from '@custody/core/node';
import type { AppendResult, AttestationAppend, ChainTip, Conflict, DeviceRecord } from '@custody/core/registry/ports';
import type { NodeStore } from '@custody/core/log/node-store';
import type { CARecord, EvidenceRecord, LogConfig, PartyRecord, Revocation, Store, TransparencyLogStore } from '../types.js';
import { migrate, newerSchema, schemaVersion, SCHEMA_VERSION } from './migrations.js';
import { appendLog, PgLogNodes, type LogNodeNeeds, type PgLogEntry, type PgLogStats } from './pg-log.js';
import { roundsBySerial } from '../rounds.js';
import { DEVICE_COLUMNS, fromRow, INSERT_DEVICES, insertDevicesParams, pushAttestations, APPEND, entriesOf, buf, bytes, type DeviceRow } from './pg-devices.js';
import { pgCheckpointCovering, recordPgCheckpoint } from './pg-checkpoints.js';
import { isTransient, sqlState, storeError, uniqueViolation, violatingValue } from './pg-errors.js';

export interface PgStoreOptions {
  /** Folder for this store's private key files (default `./.custody-keys`). */
  keyDir?: string;
  /** Most connections this process opens (default 4). */
  poolSize?: number;
  /** Devices per INSERT statement when committing (default 1000). */
  chunkSize?: number;
}

const LOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RETRIES = 5;


/** The URL without its password, for messages. */
export function redactURL(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/** The registry in a PostgreSQL database: `PgStore.init` creates or upgrades it, `PgStore.open` opens it. */
export class PgStore implements Store, TransparencyLogStore {
  readonly location: string;
  readonly keyDir: string;
  private readonly chunkSize: number;
  private readonly nodes: PgLogNodes;
  /** Counters of the log's append path. */
  readonly logStats: PgLogStats = { queries: 0, leaves: 0, nodes: 0 };

  private constructor(
    private readonly pool: Pool,
    location: string,
    opts: PgStoreOptions,
    /** Migration versions `init` applied (empty when the schema was already current). */
    readonly applied: readonly number[] = [],
  ) {
    this.location = location;
    this.keyDir = resolve(opts.keyDir ?? '.custody-keys');
    this.chunkSize = opts.chunkSize ?? 1000;
    this.nodes = new PgLogNodes(location);
  }

  private static pool(url: string, opts: PgStoreOptions): Pool {
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 4, idleTimeoutMillis: 10_000 });
    // An idle connection that dies is replaced on next use; without a listener the error would crash the process.
    pool.on('error', () => {});
    return pool;
  }

  /**
   * Creates the schema, or upgrades it to this build's version, in the database `url` names (created when
   * the server has no such database). Also creates the key folder.
   * @throws ERR_STORE_VERSION (database newer than this build), ERR_STORE_UNAVAILABLE, ERR_STORE_IO
   */
  static async init(url: string, now: Date, opts: PgStoreOptions = {}): Promise<PgStore> {
    const location = redactURL(url);
    let pool = PgStore.pool(url, opts);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      await pool.end();
      if (sqlState(e) !== '3D000') throw storeError(e, location, 'connect');
      await createDatabase(url, location);
      pool = PgStore.pool(url, opts);
      try {
        client = await pool.connect();
      } catch (e2) {
        await pool.end();
        throw storeError(e2, location, 'connect');
      }
    }
    let applied: number[];
    try {
      applied = await migrate(client, location, now);
    } catch (e) {
      client.release();
      await pool.end();
      throw storeError(e, location, 'create the schema');
    }
    client.release();
    const store = new PgStore(pool, location, opts, applied);
    mkdirSync(store.keyDir, { recursive: true, mode: 0o700 });
    return store;
  }

  /**
   * Opens a database whose schema is at this build's version.
   * @throws ERR_STORE_MISSING (no such database), ERR_STORE_VERSION (not initialised, or migrated by a newer
   * build), ERR_STORE_UNAVAILABLE, ERR_STORE_IO
   */
  static async open(url: string, opts: PgStoreOptions = {}): Promise<PgStore> {
    const location = redactURL(url);
    const pool = PgStore.pool(url, opts);
    try {
      const client = await pool.connect();
      try {
        const v = await schemaVersion(client);
        if (v > SCHEMA_VERSION) throw newerSchema(location, v);
        if (v < SCHEMA_VERSION) {
          throw new CustodyError('ERR_STORE_VERSION', v === 0 ? `${location}: no custody schema in this database (run "custody init" first)` : `${location}: schema version ${v} is older than this build's (${SCHEMA_VERSION}); run "custody init" to upgrade it`);
        }
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end();
      throw storeError(e, location, 'open the store');
    }
    return new PgStore(pool, location, opts);
  }

  private async query<R extends QueryResultRow>(sql: string, params: unknown[], what: string): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw storeError(e, this.location, what);
    }
  }

  /** Runs `fn` again on a deadlock or serialization failure. */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isTransient(e) || attempt >= RETRIES) throw e;
        await new Promise((r) => setTimeout(r, 5 * attempt * Math.random()));
      }
    }
  }

  /** Runs `fn` in one transaction on one connection (retried on transient failures). */
  private async transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      let client: PoolClient;
      try {
        client = await this.pool.connect();
      } catch (e) {
        throw storeError(e, this.location, 'connect');
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw e;
      } finally {
        client.release(broken);
      }
    });
  }

  async findConflicts(candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>): Promise<Conflict[]> {
    if (candidates.length === 0) return [];
    const rows = await this.query<{ kind: Conflict['kind']; value: string }>(
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

  /** The duplicate error a unique violation on `devices` stands for, else undefined. */
  private duplicateError(e: unknown, serial?: string): CustodyError | undefined {
    const constraint = uniqueViolation(e);
    if (constraint === undefined) return undefined;
    const value = violatingValue(e);
    const about = serial === undefined ? '' : `device ${serial}: `;
    switch (constraint) {
      case 'devices_serial_key':
        return new CustodyError('ERR_DUPLICATE_SERIAL', `${this.location}: device serial ${value} was issued before`, { cause: e });
      case 'devices_spki_key':
        return new CustodyError('ERR_DUPLICATE_KEY', `${this.location}: ${about}public key ${value.slice(0, 16)}... is already certified`, { cause: e });
      case 'devices_cert_serial_key':
        return new CustodyError('ERR_DUPLICATE_CERT_SERIAL', `${this.location}: ${about}certificate serial ${value} was used before`, { cause: e });
      case 'attestations_hash_key':
        return new CustodyError('ERR_DUPLICATE_ATTESTATION', `${this.location}: ${about}attestation ${value.slice(0, 16)}... is already recorded for a device`, { cause: e });
      default:
        return undefined;
    }
  }

  /**
   * Records new devices, all or none, in one transaction (one multi-row statement per chunk), and logs their
   * attestations in it.
   * @throws ERR_DUPLICATE_SERIAL, ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL, ERR_DUPLICATE_ATTESTATION,
   * ERR_STORE_UNAVAILABLE, ERR_STORE_IO
   */
  async commitDevices(devices: readonly DeviceRecord[]): Promise<void> {
    if (devices.length === 0) return;
    try {
      await this.transaction(async (c) => {
        for (let i = 0; i < devices.length; i += this.chunkSize) await c.query(INSERT_DEVICES, insertDevicesParams(devices.slice(i, i + this.chunkSize)));
        await this.log(c, entriesOf(devices));
      });
    } catch (e) {
      throw this.duplicateError(e) ?? storeError(e, this.location, 'record devices');
    }
  }

  async getDevice(serial: string): Promise<DeviceRecord | undefined> {
    const rows = await this.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE serial = $1`, [serial], `read device ${serial}`);
    return rows[0] && fromRow(rows[0]);
  }

  /** Keeps a signed checkpoint of `treeSize` leaves when it grows the history (checkpoint-history.ts). */
  async recordCheckpoint(treeSize: number, note: string): Promise<void> {
    await recordPgCheckpoint(this.pool, this.location, treeSize, note);
  }

  /** The kept checkpoint of the smallest tree holding leaf `leafIndex`. */
  async checkpointCovering(leafIndex: number): Promise<string | undefined> {
    return pgCheckpointCovering(this.pool, this.location, leafIndex);
  }

  /** The chain tips of these devices: one query for the newest attestation of each. */
  async getTips(serials: readonly string[]): Promise<Array<ChainTip | undefined>> {
    const rows = await this.query<{ serial: string; seq: number | null; der: Buffer | null; hash: Buffer | null }>(
      `SELECT d.serial, a.seq, a.der, a.hash FROM devices d
         LEFT JOIN LATERAL (SELECT seq, der, hash FROM attestations WHERE serial = d.serial ORDER BY seq DESC LIMIT 1) a ON true
        WHERE d.serial = ANY($1)`,
      [[...serials]],
      'read chain tips',
    );
    const bySerial = new Map(rows.map((r) => [r.serial, r]));
    return serials.map((serial) => {
      const r = bySerial.get(serial);
      if (!r) return undefined;
      return r.seq === null ? { serial, length: 0, lastHash: null } : { serial, length: r.seq + 1, lastHash: r.hash!.toString('hex'), last: r.der! };
    });
  }

  /**
   * Appends attestations, each device on its own, and logs the accepted ones, in one transaction. The
   * database refuses a second successor of an attestation (a fork), whichever process tried first; items for
   * the same device apply in order, and their leaves follow each other in the log.
   * @throws ERR_STORE_UNAVAILABLE, ERR_STORE_IO (per-device refusals are results, not throws)
   */
  async appendAttestations(items: readonly AttestationAppend[]): Promise<AppendResult[]> {
    if (items.length === 0) return [];
    // Round k holds the k-th item of each device, so that one statement never extends a chain twice.
    const rounds = roundsBySerial(items);
    try {
      return await this.transaction(async (c) => {
        const results: AppendResult[] = new Array(items.length);
        const seqs: Array<number | undefined> = new Array(items.length);
        for (const round of rounds) {
          const params = [round.map((i) => items[i]!.serial), round.map((i) => Buffer.from(items[i]!.prev, 'hex')), round.map((i) => buf(items[i]!.attestation))];
          const rows = (await c.query<{ ord: number; known: boolean; seq: number | null }>(APPEND, params)).rows;
          for (const r of rows) {
            const i = round[r.ord - 1]!;
            const serial = items[i]!.serial;
            if (r.seq !== null) {
              results[i] = { serial, ok: true };
              seqs[i] = r.seq;
            } else if (!r.known) results[i] = { serial, ok: false, code: 'ERR_DEVICE_UNKNOWN', message: `device ${serial} is not in ${this.location}` };
            else results[i] = { serial, ok: false, code: 'ERR_FORK', message: `device ${serial}: its chain no longer ends where this attestation extends it (a second transfer from the same point)` };
          }
        }
        // Log order as the embedded store's: devices in the order of their first accepted item, each device's in seq order.
        const byDevice = new Map<string, PgLogEntry[]>();
        items.forEach((item, i) => {
          const seq = seqs[i];
          if (seq === undefined) return;
          const list = byDevice.get(item.serial) ?? byDevice.set(item.serial, []).get(item.serial)!;
          list.push({ serial: item.serial, seq, der: item.attestation });
        });
        await this.log(c, [...byDevice.values()].flat());
        return results;
      });
    } catch (e) {
      throw storeError(e, this.location, 'append attestations');
    }
  }

  /** Logs `entries` in the transaction on `c` that recorded them. */
  private async log(c: PoolClient, entries: readonly PgLogEntry[]): Promise<void> {
    await appendLog(c, entries, this.location, this.logStats, this.chunkSize);
  }

  /**
   * Records a device learnt from a bundle: new, or a longer chain of a known device.
   * @throws ERR_CONFLICT_DEVICE (another certificate under this serial), ERR_FORK (the chains disagree),
   * ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL, ERR_STORE_IO
   */
  async importDevice(device: DeviceRecord): Promise<'added' | 'extended' | 'unchanged'> {
    // Optimistic: read, decide, write; a concurrent writer's change shows as a constraint violation and the
    // decision is made again on the new state.
    for (let attempt = 1; ; attempt++) {
      const current = await this.getDevice(device.serial);
      try {
        if (!current) {
          await this.transaction(async (c) => {
            await c.query(INSERT_DEVICES, insertDevicesParams([device]));
            await this.log(c, entriesOf([device]));
          });
          return 'added';
        }
        if (!buf(current.certificate).equals(buf(device.certificate))) throw new CustodyError('ERR_CONFLICT_DEVICE', `device ${device.serial}: the store holds a different certificate for this serial`);
        const a = current.attestations;
        const b = device.attestations;
        for (let i = 0; i < Math.min(a.length, b.length); i++) {
          if (!buf(a[i]!).equals(buf(b[i]!))) {
            const reason = `device ${device.serial}: attestation ${i} differs from the one recorded (the chain forked)`;
            const kept = await this.keepEvidence(device, i, reason);
            throw new CustodyError('ERR_FORK', `${reason}; the disagreeing record is kept in ${kept}`);
          }
        }
        if (b.length <= a.length) return 'unchanged';
        const cols: unknown[][] = [[], [], [], []];
        pushAttestations(cols, device.serial, b.slice(a.length), a.length, a.length === 0 ? null : nodeSha256(a.at(-1)!));
        await this.transaction(async (c) => {
          await c.query('INSERT INTO attestations (serial, seq, der, prev_hash) SELECT * FROM unnest($1::text[], $2::int[], $3::bytea[], $4::bytea[])', cols);
          await this.log(c, entriesOf([device], a.length));
        });
        return 'extended';
      } catch (e) {
        if (e instanceof CustodyError) throw e;
        const constraint = uniqueViolation(e);
        const raced = constraint === 'devices_serial_key' || constraint === 'attestations_seq_key' || constraint === 'attestations_successor_key' || isTransient(e);
        if (raced && attempt < RETRIES) continue;
        throw this.duplicateError(e, device.serial) ?? storeError(e, this.location, `import device ${device.serial}`);
      }
    }
  }

  /** Keeps a disagreeing device record as fork evidence; returns where (`<location>#evidence/<id>`). */
  private async keepEvidence(device: DeviceRecord, attestation: number, reason: string): Promise<string> {
    const { certificate, attestations, ...meta } = device;
    const rows = await this.query<{ id: string }>(
      'INSERT INTO evidence (serial, recorded_at, reason, attestation, certificate, attestations, device) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
      [device.serial, new Date().toISOString(), reason, attestation, buf(certificate), attestations.map(buf), JSON.stringify(meta)],
      `keep fork evidence for device ${device.serial}`,
    );
    return `${this.location}#evidence/${rows[0]!.id}`;
  }

  /** Every piece of fork evidence kept, oldest first. */
  async listEvidence(): Promise<EvidenceRecord[]> {
    const rows = await this.query<{ id: string; serial: string; recorded_at: string; reason: string; attestation: number; certificate: Buffer; attestations: Buffer[]; device: Omit<DeviceRecord, 'certificate' | 'attestations'> }>(
      'SELECT id, serial, recorded_at, reason, attestation, certificate, attestations, device FROM evidence ORDER BY id',
      [],
      'list fork evidence',
    );
    return rows.map((r) => ({
      file: `${this.location}#evidence/${r.id}`,
      serial: r.serial,
      recordedAt: r.recorded_at,
      reason: r.reason,
      attestation: r.attestation,
      device: { ...r.device, certificate: bytes(r.certificate), attestations: r.attestations.map(bytes) },
    }));
  }

  /** Every device, in recording order (an audit read of the whole registry, not for hot paths). */
  async listDevices(): Promise<DeviceRecord[]> {
    const rows = await this.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices d ORDER BY recorded`, [], 'list devices');
    return rows.map(fromRow);
  }

  async listLot(lot: string): Promise<string[]> {
    if (!LOT_NAME.test(lot)) return [];
    const rows = await this.query<{ serial: string }>('SELECT serial FROM devices WHERE lot = $1 ORDER BY recorded', [lot], `list lot ${lot}`);
    return rows.map((r) => r.serial);
  }

  async countDevices(): Promise<number> {
    const rows = await this.query<{ n: string }>('SELECT count(*) AS n FROM devices', [], 'count devices');
    return Number(rows[0]!.n);
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
    await this.addNamed('ca', record.name, `WITH n AS (INSERT INTO names (name, kind) VALUES ($1, 'ca') RETURNING name) INSERT INTO cas (name, record) SELECT name, $2 FROM n`, [record.name, JSON.stringify(record)]);
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
      if (uniqueViolation(e) === 'names_pkey') throw new CustodyError('ERR_CONFLICT_NAME', `${this.location}: the name "${name}" is already used in this store`, { cause: e });
      throw storeError(e, this.location, `record ${kind} ${name}`);
    }
  }

  /** @throws ERR_USAGE_UNKNOWN_CA, ERR_CONFLICT_REVOKED when the serial is already revoked */
  async revoke(caName: string, revocation: Revocation): Promise<void> {
    try {
      await this.pool.query('INSERT INTO revocations (ca, serial_hex, record) VALUES ($1, $2, $3)', [caName, revocation.serialHex, JSON.stringify(revocation)]);
    } catch (e) {
      if (uniqueViolation(e) === 'revocations_pkey') throw new CustodyError('ERR_CONFLICT_REVOKED', `certificate serial ${revocation.serialHex} of CA "${caName}" was already revoked`, { cause: e });
      if (sqlState(e) === '23503') throw unknownCA(caName, this.location, e);
      throw storeError(e, this.location, `revoke ${revocation.serialHex} of CA ${caName}`);
    }
  }

  async listRevocations(caName: string): Promise<Revocation[]> {
    const rows = await this.query<{ record: Revocation }>('SELECT record FROM revocations WHERE ca = $1 ORDER BY recorded', [caName], `list revocations of CA ${caName}`);
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
    try {
      await this.pool.query('INSERT INTO challenges (nonce, challenge) VALUES ($1, $2)', [nonceHex, buf(challenge)]);
    } catch (e) {
      if (uniqueViolation(e) === 'challenges_pkey') throw new CustodyError('ERR_CONFLICT_CHALLENGE', `${this.location}: challenge nonce ${nonceHex} was issued before`, { cause: e });
      throw storeError(e, this.location, 'record a challenge');
    }
  }

  /** Marks a nonce used; of two verifiers consuming one nonce at once, exactly one gets 'consumed'. */
  async consumeChallenge(nonceHex: string): Promise<'consumed' | 'already-used' | 'unknown'> {
    if (!/^[0-9a-f]{32,128}$/.test(nonceHex)) return 'unknown';
    const rows = await this.query<{ consumed: boolean }>(
      `WITH u AS (UPDATE challenges SET used_at = now() WHERE nonce = $1 AND used_at IS NULL RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM u) AS consumed, EXISTS (SELECT 1 FROM challenges WHERE nonce = $1) AS known`,
      [nonceHex],
      'consume a challenge',
    );
    const r = rows[0] as { consumed: boolean; known: boolean };
    return r.consumed ? 'consumed' : r.known ? 'already-used' : 'unknown';
  }

  // --- transparency log (pg-log.ts) ---

  async logSize(): Promise<number> {
    const rows = await this.query<{ size: string }>('SELECT size FROM log_state', [], 'read the log size');
    return Number(rows[0]?.size ?? 0);
  }

  /** The nodes `loadLogNodes` fetched; asking for any other throws ERR_LOG_NODE_MISSING. */
  logNodes(): NodeStore {
    return this.nodes;
  }

  /** Fetches, in one query, the nodes the root of `size` and the proofs of `needs` read (those not cached). */
  async loadLogNodes(size: number, needs?: LogNodeNeeds): Promise<void> {
    try {
      await this.nodes.load(this.pool, size, needs);
    } catch (e) {
      throw storeError(e, this.location, 'read the log');
    }
  }

  async logLeafIndex(serial: string, seq: number): Promise<number | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > 0x7fffffff) return undefined;
    const rows = await this.query<{ idx: string }>('SELECT idx FROM log_leaves WHERE serial = $1 AND seq = $2', [serial, seq], `read the log leaf of device ${serial}`);
    return rows[0] && Number(rows[0].idx);
  }

  async logLeaf(index: number): Promise<{ serial: string; seq: number } | undefined> {
    if (!Number.isSafeInteger(index) || index < 0) return undefined;
    const rows = await this.query<{ serial: string; seq: number }>('SELECT serial, seq FROM log_leaves WHERE idx = $1', [index], `read log leaf ${index}`);
    return rows[0] && { serial: rows[0].serial, seq: rows[0].seq };
  }

  async getLogConfig(): Promise<LogConfig | undefined> {
    const rows = await this.query<{ origin: string; key_ref: LogConfig['key']; created_at: string }>('SELECT origin, key_ref, created_at FROM log_config', [], 'read the log settings');
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
    if (!rows.some((r) => r.inserted)) throw new CustodyError('ERR_CONFLICT_LOG_EXISTS', `${this.location}: this store already has a log key (origin ${rows[0]?.origin ?? '?'})`);
  }

  async getSeenCheckpoint(origin: string): Promise<string | undefined> {
    const rows = await this.query<{ note: string }>('SELECT note FROM seen_checkpoints WHERE origin = $1', [origin], `read the checkpoint seen of ${origin}`);
    return rows[0]?.note;
  }

  async putSeenCheckpoint(origin: string, note: string): Promise<void> {
    await this.query('INSERT INTO seen_checkpoints (origin, note) VALUES ($1, $2) ON CONFLICT (origin) DO UPDATE SET note = EXCLUDED.note', [origin, note], `remember a checkpoint of ${origin}`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A foreign-key violation on a CA name: the store has no such CA. */
function unknownCA(name: string, location: string, cause: unknown): CustodyError {
  return new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${name}" in ${location}`, { cause });
}

/** Creates the database `url` names, through the server's `postgres` maintenance database. */
async function createDatabase(url: string, location: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!name) throw new CustodyError('ERR_STORE_MISSING', `${location}: the URL names no database`);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (e) {
    // 42P04: another init created it meanwhile.
    if (sqlState(e) !== '42P04') throw storeError(e, location, `create database ${name}`);
  } finally {
    await client.end().catch(() => {});
  }
}
