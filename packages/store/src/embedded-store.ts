/**
 * The embedded store: one folder on the local disk.
 *
 *   store.json        CAs, parties, revocations, log settings (store-documents.ts; small and rarely written)
 *   journal/          write-ahead journal: the source of truth (journal.ts). A device document per new device
 *                     (certificate, birth) and an attestation record per later attestation, naming the device's
 *                     record before it, so that a handoff appends a few hundred bytes and rewrites nothing
 *   index/*.idx       on-disk hash indexes from device serial (to the device's newest record), public key hash
 *                     and certificate serial (to its document) (device-indexes.ts), derived from the journal
 *   lots/<lot>        the serials of each production lot, one a line, appended per batch (production-lots.ts)
 *   keys/             encrypted private keys, mode 0600
 *   log/              the transparency log of every attestation, derived from the journal (log-store.ts)
 *   evidence/         device records from elsewhere that disagreed with the recorded chain (fork-evidence.ts)
 *   challenges/       verifier challenges, one file per nonce, renamed once answered (challenges.ts)
 *   ldevids/          LDevIDs issued at activation, each key claimed for one device (ldevid-files.ts)
 *   checkpoints.jsonl the log checkpoints this store signed, each one that grew the tree (checkpoint-history.ts)
 *   releases.json     firmware signers, releases and withdrawal lists (releases.ts)
 *
 * Recording a chunk of devices costs one journal append with one fdatasync, and in each index a few long reads
 * and writes of the pages around the chunk's slots (slot-pages.ts), whatever the number already stored:
 * nothing on the write path reads or rewrites the whole store. Writers take a cross-process lock (lock.ts)
 * and first replay any journal tail a crashed writer left (from the watermark, applied-mark.ts). Attestations
 * that extend recorded chains take their own path (attestation-appends.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Low } from 'lowdb';
import { CustodyError } from '@custody/core/errors';
import type { AppendResult, AttestationAppend, ChainTip, Conflict, DeviceRecord, LDevIDRegistry } from '@custody/core/ports';
import { randomUUID } from 'node:crypto';
import { ChainTips } from './chain-tips.js';
import { AppliedMark } from './applied-mark.js';
import { AttestationAppends } from './attestation-appends.js';
import { ownLogConsistency } from './own-log.js';
import type { ConsistencyProof } from '@custody/core/log';
import { appendClaiming, type AppendClaim } from './append-claims.js';
import { challengeClaim, consumeChallenge, readChallenge, recordChallenge } from './challenges.js';
import { DeviceIndexes } from './device-indexes.js';
import { deviceOfLeaf, readDeviceDoc, readNewestDocs } from './device-reads.js';
import { deviceTip, fromDoc, logEntriesOf, numberLogLeaves, toDoc } from './device-records.js';
import { encodeDeviceRecord, readRecordsFrom, type DeviceDoc, type DeviceTip } from './journal-record.js';
import { listEvidence } from './fork-evidence.js';
import { importDeviceLocked } from './embedded-import.js';
import { ldevidClaim, LDevIDFiles } from './ldevid-files.js';
import { DelegatedPorts } from './delegated-ports.js';
import { DurableJSONFile } from './durable-json-file.js';
import type { HashIndex } from './hash-index.js';
import { Journal } from './journal.js';
import { replayRecords } from './journal-replay.js';
import { acquireStoreLock, type LockWait, type StoreLock } from './lock.js';
import { LogStore } from './log-store.js';
import { appendLots, listLot } from './production-lots.js';
import { refuseHighS } from './low-s.js';
import { StoreDocuments, type StoreDocument } from './store-documents.js';
import type { NodeStore } from '@custody/core/log';
import { FileCheckpointHistory } from './checkpoint-history.js';
import { FileReleases } from './releases.js';
import type { CARecord, EvidenceRecord, LogConfig, PartyRecord, Revocation, Store } from './types.js';

/** The `format` of store.json, and the store layout version this build reads and writes. */
export const STORE_FORMAT = 'custody-store';
export const STORE_VERSION = 1;

export interface EmbeddedStoreOptions {
  /** How long a writer waits for another writer's lock. */
  lockTimeoutMs?: number;
  /** Told once per wait when a writer has to wait for another writer's lock (who holds it, how long it will wait). */
  onLockWait?: (wait: LockWait) => void;
}

/** The registry in one local folder (see the top of this file); its methods are documented on `Store` and the log ports. */
export class EmbeddedStore extends DelegatedPorts implements Store {
  readonly location: string;
  readonly keyDir: string;
  private readonly journal: Journal;
  private readonly lockTimeoutMs: number;
  private readonly onLockWait: ((wait: LockWait) => void) | undefined;
  private readonly serials: HashIndex;
  private readonly mark: AppliedMark;
  private readonly appends: AttestationAppends;
  private readonly indexes: DeviceIndexes;
  private readonly logStore: LogStore;
  private readonly documents: StoreDocuments;
  private readonly tips: ChainTips;
  private readonly checkpoints: FileCheckpointHistory;
  protected readonly releasePart: FileReleases;
  protected readonly ldevidPart: LDevIDRegistry;
  /** What an activation's append takes with it: the challenge it spends, the LDevID it records. */
  private readonly appendClaims: readonly AppendClaim[];

  private constructor(
    private readonly dir: string,
    db: Low<StoreDocument>,
    opts: EmbeddedStoreOptions,
  ) {
    super();
    this.location = dir;
    this.documents = new StoreDocuments(db, dir, (fn) => this.withLock(fn));
    this.keyDir = join(dir, 'keys');
    this.journal = new Journal(join(dir, 'journal'));
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.onLockWait = opts.onLockWait;
    this.indexes = new DeviceIndexes(join(dir, 'index'));
    // The handoff path reads the serial index alone, as a field of its own.
    this.serials = this.indexes.serials;
    this.tips = new ChainTips(this.serials, this.journal);
    this.logStore = new LogStore(join(dir, 'log'));
    this.checkpoints = new FileCheckpointHistory(join(dir, 'checkpoints.jsonl'));
    this.mark = new AppliedMark(this.journal);
    const ldevids = new LDevIDFiles(join(dir, 'ldevids'));
    this.ldevidPart = {
      recordLDevID: (r) => this.withLock(() => ldevids.record(r)),
      ldevidKeyHolder: async (spki) => ldevids.holder(spki),
      listLDevIDs: async (serial) => ldevids.list(serial),
    };
    this.appendClaims = [challengeClaim(join(dir, 'challenges')), ldevidClaim(ldevids)];
    this.appends = new AttestationAppends({ dir, journal: this.journal, serials: this.serials, tips: this.tips, logStore: this.logStore, mark: this.mark });
    this.releasePart = new FileReleases(join(dir, 'releases.json'), (fn) => this.withLock(fn));
  }

  /**
   * Creates a new store folder.
   * @throws ERR_CONFLICT_STORE_EXISTS when a store is already there
   */
  static async init(dir: string, now: Date, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    const abs = resolve(dir);
    if (existsSync(join(abs, 'store.json'))) throw new CustodyError('ERR_CONFLICT_STORE_EXISTS', `${abs}: a custody store already exists here`, { file: abs });
    for (const sub of ['keys', 'journal', 'index', 'lots']) mkdirSync(join(abs, sub), { recursive: true, mode: sub === 'keys' ? 0o700 : 0o755 });
    DeviceIndexes.create(join(abs, 'index'));
    const db = new Low<StoreDocument>(new DurableJSONFile(join(abs, 'store.json')), {
      format: STORE_FORMAT,
      version: STORE_VERSION,
      id: randomUUID(),
      createdAt: now.toISOString(),
      cas: {},
      parties: {},
    });
    await db.write();
    return new EmbeddedStore(abs, db, opts);
  }

  /**
   * Opens an existing store folder (read-only until a write takes the lock).
   * @throws ERR_STORE_MISSING, ERR_STORE_CORRUPT, ERR_STORE_VERSION
   */
  static async open(dir: string, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    const abs = resolve(dir);
    const file = join(abs, 'store.json');
    if (!existsSync(file)) throw new CustodyError('ERR_STORE_MISSING', `${abs}: no custody store here (run "custody init" first)`, { file: abs });
    const db = new Low<StoreDocument>(new DurableJSONFile(file), {} as StoreDocument);
    await db.read();
    if (db.data.format !== STORE_FORMAT) throw new CustodyError('ERR_STORE_CORRUPT', `${file}: not a custody store`, { file });
    if (db.data.version !== STORE_VERSION)
      throw new CustodyError('ERR_STORE_VERSION', `${file}: store version ${db.data.version} is not supported (expected ${STORE_VERSION})`, { file });
    return new EmbeddedStore(abs, db, opts);
  }

  /** Runs `fn` holding the writer lock, after replaying any journal tail a crashed writer left behind. */
  private async withLock<T>(fn: () => Promise<T> | T): Promise<T> {
    const lock: StoreLock = await acquireStoreLock(this.dir, this.lockTimeoutMs, this.onLockWait);
    try {
      this.recover();
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /** Applies journal records past the watermark to the indexes. Idempotent. */
  private recover(): void {
    this.indexes.refresh();
    // Our own commits since the last mark are applied: start after them (they are the tail's beginning).
    const from = this.mark.replayFrom();
    const { records, end } = readRecordsFrom(this.journal, from);
    if (records.length === 0 && end.segment === from.segment && end.offset === from.offset) return;
    const { docs, leaves } = replayRecords(this.indexes, records, this.logStore.size());
    this.logStore.append(leaves);
    // A device's first version is the one that names its lot (later versions only add attestations). A
    // replay may append a serial its lot already lists: listLot removes repeats.
    appendLots(
      join(this.dir, 'lots'),
      docs.filter((d) => d.attestations.length <= 1),
    );
    this.mark.replayed(end);
  }

  async findConflicts(candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>): Promise<Conflict[]> {
    return this.indexes.findConflicts(candidates);
  }

  async commitDevices(devices: readonly DeviceRecord[]): Promise<void> {
    if (devices.length === 0) return;
    const seen = { serial: new Set<string>(), key: new Set<string>(), certSerial: new Set<string>() };
    for (const d of devices) {
      for (const [kind, value, code] of [
        ['serial', d.serial, 'ERR_DUPLICATE_SERIAL'],
        ['key', d.spkiSha256, 'ERR_DUPLICATE_KEY'],
        ['certSerial', d.certSerial, 'ERR_DUPLICATE_CERT_SERIAL'],
      ] as const) {
        if (seen[kind].has(value))
          throw new CustodyError(
            code,
            `${this.dir}: ${kind === 'serial' ? `device serial ${value}` : kind === 'key' ? 'one public key' : `certificate serial ${value}`} appears twice in one commit`,
          );
        seen[kind].add(value);
      }
    }
    await this.withLock(async () => {
      const conflicts = await this.findConflicts(devices);
      if (conflicts.length > 0) {
        const c = conflicts[0]!;
        const code = c.kind === 'serial' ? 'ERR_DUPLICATE_SERIAL' : c.kind === 'key' ? 'ERR_DUPLICATE_KEY' : 'ERR_DUPLICATE_CERT_SERIAL';
        const what =
          c.kind === 'serial'
            ? `device serial ${c.value} was issued before`
            : c.kind === 'key'
              ? `public key ${c.value.slice(0, 16)}... is already certified`
              : `certificate serial ${c.value} was used before`;
        throw new CustodyError(code, `${this.dir}: ${what}`);
      }
      const docs = devices.map(toDoc);
      await this.writeDocs(
        docs,
        devices.map((d, i) => deviceTip(d, docs[i]!)),
        true,
      );
    });
  }

  async getTips(serials: readonly string[]): Promise<Array<ChainTip | undefined>> {
    this.serials.ensureCurrent();
    return this.tips.readTips(serials).map((tip, i) => {
      const serial = serials[i]!;
      if (!tip) return undefined;
      if (tip.facts) return { serial, length: tip.length, lastHash: tip.hash, facts: tip.facts };
      if (tip.last) return { serial, length: tip.length, lastHash: tip.hash, last: tip.last };
      return { serial, length: tip.length, lastHash: tip.hash };
    });
  }

  /**
   * Writes new versions of device documents: one journal append, then the indexes, then the watermark when it
   * is due (applied-mark.ts). Each document's record leads with its tip (`tips[i]`).
   */
  private async writeDocs(docs: readonly DeviceDoc[], tips: readonly DeviceTip[], fresh: boolean): Promise<void> {
    if (docs.length === 0) return;
    const logSize = numberLogLeaves(docs, this.logStore.size());
    const { positions, end } = await this.journal.append(docs.map((d, i) => encodeDeviceRecord(tips[i]!, d)));
    this.indexes.batch(fresh ? docs : docs.map((d) => ({ serial: d.serial })), () =>
      docs.forEach((d, i) => this.indexes.put(d, positions[i]!, !fresh, !fresh)),
    );
    this.logStore.append(docs.flatMap((d, i) => logEntriesOf(d, positions[i]!, logSize)));
    // Lots before the mark: a crash after the mark must not leave recorded devices out of their lot.
    if (fresh) appendLots(join(this.dir, 'lots'), docs);
    this.mark.committed(end);
  }

  async appendAttestations(items: readonly AttestationAppend[]): Promise<AppendResult[]> {
    if (items.some((i) => i.challenge !== undefined || i.ldevid !== undefined))
      return this.withLock(() => appendClaiming(items, this.appendClaims, (go) => this.appends.append(go)));
    return this.withLock(() => this.appends.append(items));
  }

  async importDevice(device: DeviceRecord): Promise<'added' | 'extended' | 'unchanged'> {
    refuseHighS(device);
    return this.withLock(() =>
      importDeviceLocked(device, {
        dir: this.dir,
        current: (serial) => readDeviceDoc(this.journal, this.serials, this.dir, serial)?.doc,
        conflicts: (docs) => this.findConflicts(docs),
        write: (docs, tips, fresh) => this.writeDocs(docs, tips, fresh),
      }),
    );
  }

  async getDevice(serial: string): Promise<DeviceRecord | undefined> {
    // Another writer may have grown (replaced) the index file since this process opened it.
    this.serials.ensureCurrent();
    const found = readDeviceDoc(this.journal, this.serials, this.dir, serial);
    return found && fromDoc(found.doc, this.location);
  }

  /** Every device, newest version of each (reads the whole journal: for audits, not for hot paths). */
  async listDevices(): Promise<DeviceRecord[]> {
    return readNewestDocs(this.journal).map((d) => fromDoc(d, this.location));
  }

  /** Serials of a production lot, in the order they were recorded. */
  async listLot(lot: string): Promise<string[]> {
    return listLot(join(this.dir, 'lots'), lot);
  }

  /** Exact count of devices; reads the whole journal (the index's own counter is only a growth hint). */
  async countDevices(): Promise<number> {
    return (await this.listDevices()).length;
  }

  // --- CAs, parties, revocations (store.json: store-documents.ts) ---

  async getCA(name: string): Promise<CARecord | undefined> {
    return this.documents.getCA(name);
  }
  async listCAs(): Promise<CARecord[]> {
    return this.documents.listCAs();
  }
  async addCA(record: CARecord): Promise<void> {
    return this.documents.addCA(record);
  }
  async getParty(name: string): Promise<PartyRecord | undefined> {
    return this.documents.getParty(name);
  }
  async listParties(): Promise<PartyRecord[]> {
    return this.documents.listParties();
  }
  async addParty(record: PartyRecord): Promise<void> {
    return this.documents.addParty(record);
  }
  async revoke(caName: string, revocation: Revocation): Promise<void> {
    return this.documents.revoke(caName, revocation);
  }
  async listRevocations(caName: string): Promise<Revocation[]> {
    return this.documents.listRevocations(caName);
  }
  async nextCRLNumber(caName: string): Promise<number> {
    return this.documents.nextCRLNumber(caName);
  }

  async recordChallenge(nonceHex: string, challenge: Uint8Array): Promise<void> {
    recordChallenge(join(this.dir, 'challenges'), nonceHex, challenge);
  }
  async consumeChallenge(nonceHex: string): Promise<'consumed' | 'already-used' | 'unknown'> {
    return consumeChallenge(join(this.dir, 'challenges'), nonceHex);
  }
  async readChallenge(nonceHex: string): Promise<{ bytes: Uint8Array; used: boolean } | undefined> {
    return readChallenge(join(this.dir, 'challenges'), nonceHex);
  }

  // --- transparency log (log-store.ts) and fork evidence ---

  async logSize(): Promise<number> {
    return this.logStore.size();
  }

  logNodes(): NodeStore {
    return this.logStore;
  }

  /** Nothing to do: the embedded log's nodes are read from the local disk on demand. */
  async loadLogNodes(): Promise<void> {}

  async logLeafIndex(serial: string, seq: number): Promise<number | undefined> {
    this.serials.refresh();
    return readDeviceDoc(this.journal, this.serials, this.dir, serial)?.doc.log?.[seq];
  }

  async logLeaf(index: number): Promise<{ serial: string; seq: number } | undefined> {
    const leaf = this.logStore.leafAt(index);
    return leaf && deviceOfLeaf(this.journal, leaf);
  }

  async getLogConfig(): Promise<LogConfig | undefined> {
    return this.documents.getLogConfig();
  }
  async setLogConfig(config: LogConfig): Promise<void> {
    return this.documents.setLogConfig(config);
  }
  async getSeenCheckpoint(origin: string): Promise<string | undefined> {
    return this.documents.getSeenCheckpoint(origin);
  }
  async putSeenCheckpoint(origin: string, note: string): Promise<void> {
    return this.documents.putSeenCheckpoint(origin, note);
  }
  async consistencyProof(origin: string, oldSize: number, newSize: number): Promise<ConsistencyProof | undefined> {
    return ownLogConsistency(this, origin, oldSize, newSize);
  }
  async recordCheckpoint(treeSize: number, note: string): Promise<void> {
    return this.checkpoints.recordCheckpoint(treeSize, note);
  }
  async checkpointCovering(leafIndex: number): Promise<string | undefined> {
    return this.checkpoints.checkpointCovering(leafIndex);
  }

  // --- LDevIDs issued at activation (ldevid-files.ts) ---

  async listEvidence(): Promise<EvidenceRecord[]> {
    return listEvidence(join(this.dir, 'evidence'));
  }

  async close(): Promise<void> {
    if (this.mark.pending) await this.withLock(() => this.mark.write()).catch(() => undefined);
    this.journal.close();
    this.logStore.close();
    this.indexes.close();
  }
}
