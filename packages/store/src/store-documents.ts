/**
 * The embedded store's small documents, kept together in `store.json` with lowdb: CAs, parties, revocations,
 * CRL numbers, the transparency log's settings and the checkpoints seen of other logs. They are few and rarely
 * written, so each write rewrites the whole file (durably); devices live in the journal instead.
 */
import type { Low } from 'lowdb';
import { CustodyError } from '@custody/core/errors';
import type { CARecord, LogConfig, PartyRecord, Revocation } from './types.js';

/** The content of `store.json`. */
export interface StoreDocument {
  format: string;
  version: number;
  /** Random identity of this store: names its writer lock. */
  id?: string;
  createdAt: string;
  cas: Record<string, CARecord>;
  parties: Record<string, PartyRecord>;
  /** The transparency log's origin and key, once created. */
  log?: LogConfig;
  /** The newest checkpoint seen of each log (verifier side), by origin. */
  checkpoints?: Record<string, string>;
  /** Revoked certificates per CA name (absent in stores made before revocation existed). */
  revocations?: Record<string, Revocation[]>;
  /** The last CRLNumber issued per CA name. */
  crlNumbers?: Record<string, number>;
}

/** Runs `fn` holding the store's writer lock. */
export type WithLock = <T>(fn: () => Promise<T> | T) => Promise<T>;

/**
 * Reads and writes of `store.json`. Every write re-reads the file under the store's writer lock first, as
 * another process may have written it since this one read it.
 */
export class StoreDocuments {
  /**
   * @param db the opened `store.json`
   * @param dir the store folder, named in messages
   * @param withLock the store's writer lock, which also replays a crashed writer's journal tail
   */
  constructor(
    private readonly db: Low<StoreDocument>,
    private readonly dir: string,
    private readonly withLock: WithLock,
  ) {}

  /** The store's random identity, which names its writer lock (absent in older stores). */
  get id(): string | undefined {
    return this.db.data.id;
  }

  /** The CA named `name`, as last read. */
  async getCA(name: string): Promise<CARecord | undefined> {
    return this.db.data.cas[name];
  }

  /** Every CA, as last read. */
  async listCAs(): Promise<CARecord[]> {
    return Object.values(this.db.data.cas);
  }

  /**
   * Records a CA.
   * @throws ERR_CONFLICT_NAME when a CA or party already has its name
   */
  async addCA(record: CARecord): Promise<void> {
    await this.addNamed((data) => (data.cas[record.name] = record), record.name);
  }

  /** The party named `name`, as last read. */
  async getParty(name: string): Promise<PartyRecord | undefined> {
    return this.db.data.parties[name];
  }

  /** Every party, as last read. */
  async listParties(): Promise<PartyRecord[]> {
    return Object.values(this.db.data.parties);
  }

  /**
   * Records a party.
   * @throws ERR_CONFLICT_NAME when a CA or party already has its name
   */
  async addParty(record: PartyRecord): Promise<void> {
    await this.addNamed((data) => (data.parties[record.name] = record), record.name);
  }

  /** Runs `put` under the lock on freshly read documents, unless a CA or a party already has `name`. */
  private async addNamed(put: (data: StoreDocument) => void, name: string): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      if (this.db.data.cas[name] || this.db.data.parties[name])
        throw new CustodyError('ERR_CONFLICT_NAME', `${this.dir}: the name "${name}" is already used in this store`);
      put(this.db.data);
      await this.db.write();
    });
  }

  /**
   * Records the revocation of one certificate of a CA.
   * @throws ERR_USAGE_UNKNOWN_CA, ERR_CONFLICT_REVOKED
   */
  async revoke(caName: string, revocation: Revocation): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      const data = this.db.data;
      if (!data.cas[caName]) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${caName}" in ${this.dir}`);
      const list = (data.revocations ??= {})[caName] ?? [];
      const before = list.find((r) => r.serialHex === revocation.serialHex);
      if (before)
        throw new CustodyError(
          'ERR_CONFLICT_REVOKED',
          `certificate serial ${revocation.serialHex} of CA "${caName}" was already revoked on ${before.revokedAt}`,
        );
      data.revocations[caName] = [...list, { ...revocation }];
      await this.db.write();
    });
  }

  /** The revocations of a CA, oldest first. */
  async listRevocations(caName: string): Promise<Revocation[]> {
    // Re-read: another process may have revoked since this one opened the store.
    await this.db.read();
    return [...(this.db.data.revocations?.[caName] ?? [])];
  }

  /**
   * Takes the CA's next CRLNumber, recording it as used.
   * @throws ERR_USAGE_UNKNOWN_CA
   */
  async nextCRLNumber(caName: string): Promise<number> {
    return this.withLock(async () => {
      await this.db.read();
      const data = this.db.data;
      if (!data.cas[caName]) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${caName}" in ${this.dir}`);
      const n = ((data.crlNumbers ??= {})[caName] ?? 0) + 1;
      data.crlNumbers[caName] = n;
      await this.db.write();
      return n;
    });
  }

  /** The transparency log's settings, if the log was created. */
  async getLogConfig(): Promise<LogConfig | undefined> {
    await this.db.read();
    return this.db.data.log;
  }

  /**
   * Records the transparency log's settings, once.
   * @throws ERR_CONFLICT_LOG_EXISTS
   */
  async setLogConfig(config: LogConfig): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      if (this.db.data.log)
        throw new CustodyError('ERR_CONFLICT_LOG_EXISTS', `${this.dir}: this store already has a log key (origin ${this.db.data.log.origin})`);
      this.db.data.log = config;
      await this.db.write();
    });
  }

  /** The newest checkpoint seen of the log named `origin`, if any. */
  async getSeenCheckpoint(origin: string): Promise<string | undefined> {
    await this.db.read();
    return this.db.data.checkpoints?.[origin];
  }

  /** Remembers `note` as the newest checkpoint seen of the log named `origin`. */
  async putSeenCheckpoint(origin: string, note: string): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      (this.db.data.checkpoints ??= {})[origin] = note;
      await this.db.write();
    });
  }
}
