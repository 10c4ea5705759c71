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
 * Private keys never enter the database: `keyDir` is a folder on the local disk that the operator names.
 *
 * Beside this file: connections and transactions (pg-database.ts), the chains' tips and append rounds
 * (pg-chains.ts), device rows (pg-devices.ts), imports from bundles (pg-import.ts), named records such as CAs and
 * parties (pg-documents.ts), fork evidence (pg-evidence.ts).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { CustodyError } from '@custody/core/errors';
import type { AppendResult, AttestationAppend, ChainTip, Conflict, DeviceRecord, LDevIDRegistry } from '@custody/core/ports';
import type { NodeStore } from '@custody/core/log';
import type { CARecord, EvidenceRecord, LogConfig, PartyRecord, Revocation, Store } from '../types.js';
import { migrate, newerSchema, schemaVersion, SCHEMA_VERSION } from './migrations.js';
import { appendLog, PgLogNodes, type LogNodeNeeds, type PgLogEntry, type PgLogStats } from './pg-log.js';
import { appendPgAttestations, readPgTips } from './pg-chains.js';
import { importPgDevice } from './pg-import.js';
import { DEVICE_COLUMNS, findPgConflicts, fromRow, INSERT_DEVICES, insertDevicesParams, entriesOf, type DeviceRow } from './pg-devices.js';
import { pgCheckpointCovering, recordPgCheckpoint } from './pg-checkpoints.js';
import { createDatabase, inTransaction, openPool, queryRows, redactURL } from './pg-database.js';
import { PgDocuments } from './pg-documents.js';
import { PgReleases } from './pg-releases.js';
import { DelegatedPorts } from '../delegated-ports.js';
import { ownLogConsistency } from '../own-log.js';
import type { ConsistencyProof } from '@custody/core/log';
import { isLotName } from '../production-lots.js';
import { listPgEvidence } from './pg-evidence.js';
import { listPgLDevIDs, pgLDevIDKeyHolder, recordPgLDevID } from './pg-ldevids.js';
import { duplicateError, sqlState, storeError } from './pg-errors.js';

export interface PgStoreOptions {
  /**
   * Folder for this store's private key files (`--keys DIR`, `CUSTODY_KEYS`). The database holds no keys; without
   * a folder, a command that needs a key is refused (ERR_USAGE_STORE_KEYS) rather than given a guessed one.
   */
  keyDir?: string;
  /** Most connections this process opens (default 4). */
  poolSize?: number;
  /** Devices per INSERT statement when committing (default 1000). */
  chunkSize?: number;
}

/** The registry in a PostgreSQL database: `PgStore.init` creates or upgrades it, `PgStore.open` opens it. */
export class PgStore extends DelegatedPorts implements Store {
  readonly location: string;
  readonly #keyDir: string | undefined;
  private readonly chunkSize: number;
  private readonly nodes: PgLogNodes;
  private readonly docs: PgDocuments;
  protected readonly releasePart: PgReleases;
  protected readonly ldevidPart: LDevIDRegistry;
  /** Counters of the log's append path. */
  readonly logStats: PgLogStats = { queries: 0, leaves: 0, nodes: 0 };

  private constructor(
    private readonly pool: Pool,
    location: string,
    opts: PgStoreOptions,
    /** Migration versions `init` applied (empty when the schema was already current). */
    readonly applied: readonly number[] = [],
  ) {
    super();
    this.location = location;
    this.#keyDir = opts.keyDir === undefined || opts.keyDir === '' ? undefined : resolve(opts.keyDir);
    this.chunkSize = opts.chunkSize ?? 1000;
    this.nodes = new PgLogNodes(location);
    this.docs = new PgDocuments(pool, location);
    this.releasePart = new PgReleases(pool, location);
    this.ldevidPart = {
      recordLDevID: (r) => recordPgLDevID(pool, location, r),
      ldevidKeyHolder: (spki) => pgLDevIDKeyHolder(pool, location, spki),
      listLDevIDs: (serial) => listPgLDevIDs(pool, location, serial),
    };
  }

  /**
   * Creates the schema, or upgrades it to this build's version, in the database `url` names (created when
   * the server has no such database). Also creates the key folder, when one is given.
   * @throws ERR_STORE_VERSION (database newer than this build), ERR_STORE_UNAVAILABLE, ERR_STORE_IO
   */
  static async init(url: string, now: Date, opts: PgStoreOptions = {}): Promise<PgStore> {
    const location = redactURL(url);
    let pool = openPool(url, opts.poolSize ?? 4);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      await pool.end();
      if (sqlState(e) !== '3D000') throw storeError(e, location, 'connect');
      await createDatabase(url, location);
      pool = openPool(url, opts.poolSize ?? 4);
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
    if (opts.keyDir) mkdirSync(store.keyDir, { recursive: true, mode: 0o700 });
    return store;
  }

  /**
   * Opens a database whose schema is at this build's version.
   * @throws ERR_STORE_MISSING (no such database), ERR_STORE_VERSION (not initialised, or migrated by a newer
   * build), ERR_STORE_UNAVAILABLE, ERR_STORE_IO
   */
  static async open(url: string, opts: PgStoreOptions = {}): Promise<PgStore> {
    const location = redactURL(url);
    const pool = openPool(url, opts.poolSize ?? 4);
    try {
      const client = await pool.connect();
      try {
        const v = await schemaVersion(client);
        if (v > SCHEMA_VERSION) throw newerSchema(location, v);
        if (v < SCHEMA_VERSION) {
          throw new CustodyError(
            'ERR_STORE_VERSION',
            v === 0
              ? `${location}: no custody schema in this database (run "custody init" first)`
              : `${location}: schema version ${v} is older than this build's (${SCHEMA_VERSION}); run "custody init" to upgrade it`,
          );
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

  /**
   * The key folder the store was opened with.
   * @throws ERR_USAGE_STORE_KEYS when it was opened without one: key files must not land in whatever folder the
   *   command happens to run in
   */
  get keyDir(): string {
    if (this.#keyDir === undefined)
      throw new CustodyError(
        'ERR_USAGE_STORE_KEYS',
        `${this.location}: a PostgreSQL store keeps no keys; name the folder for its key files with --keys DIR or CUSTODY_KEYS`,
      );
    return this.#keyDir;
  }

  private query<R extends QueryResultRow>(sql: string, params: unknown[], what: string): Promise<R[]> {
    return queryRows<R>(this.pool, this.location, sql, params, what);
  }

  private transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, this.location, fn);
  }

  async findConflicts(candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>): Promise<Conflict[]> {
    return findPgConflicts(this.pool, this.location, candidates);
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
      throw duplicateError(e, this.location) ?? storeError(e, this.location, 'record devices');
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
    return readPgTips(this.pool, this.location, serials);
  }

  /**
   * Appends attestations, each device on its own, and logs the accepted ones, in one transaction. The
   * database refuses a second successor of an attestation (a fork), whichever process tried first; items for
   * the same device apply in order, and their leaves follow each other in the log.
   * @throws ERR_STORE_UNAVAILABLE, ERR_STORE_IO (per-device refusals are results, not throws)
   */
  async appendAttestations(items: readonly AttestationAppend[]): Promise<AppendResult[]> {
    if (items.length === 0) return [];
    try {
      return await this.transaction(async (c) => {
        const { results, logged } = await appendPgAttestations(c, items, this.location);
        await this.log(c, logged);
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
   * Records a device learnt from a bundle: new, or a longer chain of a known device (pg-import.ts).
   * @throws ERR_CONFLICT_DEVICE (another certificate under this serial), ERR_FORK (the chains disagree),
   * ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL, ERR_STORE_IO; ERR_ATTESTATION_HIGH_S (an attestation's
   * signature has a high S), before anything is read
   */
  async importDevice(device: DeviceRecord): Promise<'added' | 'extended' | 'unchanged'> {
    return importPgDevice(device, {
      pool: this.pool,
      location: this.location,
      read: (serial) => this.getDevice(serial),
      write: (fn) => this.transaction(fn),
      log: (c, entries) => this.log(c, entries),
    });
  }

  /** Every piece of fork evidence kept, oldest first. */
  async listEvidence(): Promise<EvidenceRecord[]> {
    return listPgEvidence(this.pool, this.location);
  }

  /** Every device, in recording order (an audit read of the whole registry, not for hot paths). */
  async listDevices(): Promise<DeviceRecord[]> {
    const rows = await this.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices d ORDER BY recorded`, [], 'list devices');
    return rows.map(fromRow);
  }

  async listLot(lot: string): Promise<string[]> {
    if (!isLotName(lot)) return [];
    const rows = await this.query<{ serial: string }>('SELECT serial FROM devices WHERE lot = $1 ORDER BY recorded', [lot], `list lot ${lot}`);
    return rows.map((r) => r.serial);
  }

  async countDevices(): Promise<number> {
    const rows = await this.query<{ n: string }>('SELECT count(*) AS n FROM devices', [], 'count devices');
    return Number(rows[0]!.n);
  }

  // --- named records (pg-documents.ts) ---

  async getCA(name: string): Promise<CARecord | undefined> {
    return this.docs.getCA(name);
  }

  async listCAs(): Promise<CARecord[]> {
    return this.docs.listCAs();
  }

  /** @throws ERR_CONFLICT_NAME when a CA or party already has the name */
  async addCA(record: CARecord): Promise<void> {
    return this.docs.addCA(record);
  }

  async getParty(name: string): Promise<PartyRecord | undefined> {
    return this.docs.getParty(name);
  }

  async listParties(): Promise<PartyRecord[]> {
    return this.docs.listParties();
  }

  /** @throws ERR_CONFLICT_NAME when a CA or party already has the name */
  async addParty(record: PartyRecord): Promise<void> {
    return this.docs.addParty(record);
  }

  /** @throws ERR_USAGE_UNKNOWN_CA, ERR_CONFLICT_REVOKED when the serial is already revoked */
  async revoke(caName: string, revocation: Revocation): Promise<void> {
    return this.docs.revoke(caName, revocation);
  }

  async listRevocations(caName: string): Promise<Revocation[]> {
    return this.docs.listRevocations(caName);
  }

  /** @throws ERR_USAGE_UNKNOWN_CA */
  async nextCRLNumber(caName: string): Promise<number> {
    return this.docs.nextCRLNumber(caName);
  }

  /** @throws ERR_CONFLICT_CHALLENGE when the nonce was recorded before */
  async recordChallenge(nonceHex: string, challenge: Uint8Array): Promise<void> {
    return this.docs.recordChallenge(nonceHex, challenge);
  }

  async consumeChallenge(nonceHex: string): Promise<'consumed' | 'already-used' | 'unknown'> {
    return this.docs.consumeChallenge(nonceHex);
  }

  async readChallenge(nonceHex: string): Promise<{ bytes: Uint8Array; used: boolean } | undefined> {
    return this.docs.readChallenge(nonceHex);
  }

  async getLogConfig(): Promise<LogConfig | undefined> {
    return this.docs.getLogConfig();
  }

  /** @throws ERR_CONFLICT_LOG_EXISTS when the store already has a log key */
  async setLogConfig(config: LogConfig): Promise<void> {
    return this.docs.setLogConfig(config);
  }

  async getSeenCheckpoint(origin: string): Promise<string | undefined> {
    return this.docs.getSeenCheckpoint(origin);
  }

  async putSeenCheckpoint(origin: string, note: string): Promise<void> {
    return this.docs.putSeenCheckpoint(origin, note);
  }

  async consistencyProof(origin: string, oldSize: number, newSize: number): Promise<ConsistencyProof | undefined> {
    return ownLogConsistency(this, origin, oldSize, newSize);
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
    const rows = await this.query<{ idx: string }>(
      'SELECT idx FROM log_leaves WHERE serial = $1 AND seq = $2',
      [serial, seq],
      `read the log leaf of device ${serial}`,
    );
    return rows[0] && Number(rows[0].idx);
  }

  async logLeaf(index: number): Promise<{ serial: string; seq: number } | undefined> {
    if (!Number.isSafeInteger(index) || index < 0) return undefined;
    const rows = await this.query<{ serial: string; seq: number }>('SELECT serial, seq FROM log_leaves WHERE idx = $1', [index], `read log leaf ${index}`);
    return rows[0] && { serial: rows[0].serial, seq: rows[0].seq };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
