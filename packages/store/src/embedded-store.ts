/**
 * The embedded store: one folder on the local disk.
 *
 *   store.json                 CAs and parties (lowdb, written durably; small and rarely written)
 *   journal/                   write-ahead journal, the source of truth for devices (see journal.ts)
 *   devices/<xx>/<serial>.json one document per device, derived from the journal
 *   index/keys/<xx>/<spki>     one empty file per certified public key, derived
 *   index/certs/<xx>/<serial>  one empty file per certificate serial, derived
 *   keys/                      encrypted private keys, mode 0600
 *
 * Recording a device costs one journal append (shared by a chunk, with one fdatasync) and three small files,
 * whatever the number already stored: nothing on the write path reads or rewrites the whole store.
 * Writers take a cross-process lock (lock.ts) and first replay any journal tail a crashed writer left.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Low } from 'lowdb';
import { CustodyError, fromBase64, toBase64, type Conflict, type DeviceRecord } from '@custody/core';
import { DurableJSONFile } from './durable-json-file.js';
import { Journal } from './journal.js';
import { acquireStoreLock, type StoreLock } from './lock.js';
import type { CARecord, PartyRecord, Store } from './types.js';

export const STORE_FORMAT = 'custody-store';
export const STORE_VERSION = 1;

interface StoreDocument {
  format: string;
  version: number;
  createdAt: string;
  cas: Record<string, CARecord>;
  parties: Record<string, PartyRecord>;
}

/** A device as a journal record and as a document: binary parts base64. */
interface DeviceDoc {
  serial: string;
  certificate: string;
  certSerial: string;
  spkiSha256: string;
  certSha256: string;
  issuer: string;
  model?: string;
  lot?: string;
  issuedAt: string;
  attestations: string[];
}

type JournalRecord = { t: 'device'; d: DeviceDoc };

const shard = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 2);

function toDoc(r: DeviceRecord): DeviceDoc {
  const d: DeviceDoc = {
    serial: r.serial,
    certificate: toBase64(r.certificate),
    certSerial: r.certSerial,
    spkiSha256: r.spkiSha256,
    certSha256: r.certSha256,
    issuer: r.issuer,
    issuedAt: r.issuedAt,
    attestations: r.attestations.map(toBase64),
  };
  if (r.model !== undefined) d.model = r.model;
  if (r.lot !== undefined) d.lot = r.lot;
  return d;
}

function fromDoc(d: DeviceDoc, file: string): DeviceRecord {
  const bin = (s: string) => {
    const b = fromBase64(s);
    if (!b) throw new CustodyError('ERR_STORE_CORRUPT', `${file}: invalid base64`, { file });
    return b;
  };
  const r: DeviceRecord = { ...d, certificate: bin(d.certificate), attestations: d.attestations.map(bin) };
  return r;
}

export interface EmbeddedStoreOptions {
  /** How long a writer waits for another writer's lock. */
  lockTimeoutMs?: number;
}

export class EmbeddedStore implements Store {
  readonly location: string;
  readonly keyDir: string;
  private readonly journal: Journal;
  private readonly lockTimeoutMs: number;

  private constructor(
    private readonly dir: string,
    private readonly db: Low<StoreDocument>,
    opts: EmbeddedStoreOptions,
  ) {
    this.location = dir;
    this.keyDir = join(dir, 'keys');
    this.journal = new Journal(join(dir, 'journal'));
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
  }

  /**
   * Creates a new store folder.
   * @throws ERR_CONFLICT_STORE_EXISTS when a store is already there
   */
  static async init(dir: string, now: Date, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    const abs = resolve(dir);
    if (existsSync(join(abs, 'store.json'))) throw new CustodyError('ERR_CONFLICT_STORE_EXISTS', `${abs}: a custody store already exists here`, { file: abs });
    for (const sub of ['keys', 'journal', 'devices', 'index/keys', 'index/certs']) mkdirSync(join(abs, sub), { recursive: true, mode: sub === 'keys' ? 0o700 : 0o755 });
    // All 256 shard folders up front, so that the write path never has to ask whether one exists.
    for (let i = 0; i < 256; i++) {
      const h = i.toString(16).padStart(2, '0');
      for (const sub of ['devices', 'index/keys', 'index/certs']) mkdirSync(join(abs, sub, h));
    }
    const db = new Low<StoreDocument>(new DurableJSONFile(join(abs, 'store.json')), { format: STORE_FORMAT, version: STORE_VERSION, createdAt: now.toISOString(), cas: {}, parties: {} });
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
    if (db.data.version !== STORE_VERSION) throw new CustodyError('ERR_STORE_VERSION', `${file}: store version ${db.data.version} is not supported (expected ${STORE_VERSION})`, { file });
    return new EmbeddedStore(abs, db, opts);
  }

  /** Runs `fn` holding the writer lock, after replaying any journal tail a crashed writer left behind. */
  private async withLock<T>(fn: () => Promise<T> | T): Promise<T> {
    const lock: StoreLock = await acquireStoreLock(this.dir, this.lockTimeoutMs);
    try {
      this.recover();
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /** Applies journal records past the watermark to the derived files. Idempotent. */
  private recover(): void {
    const from = this.journal.readWatermark();
    const { records, end } = this.journal.readFrom(from);
    if (records.length === 0 && end.segment === from.segment && end.offset === from.offset) return;
    for (const r of records as JournalRecord[]) if (r.t === 'device') this.materialize(r.d, true);
    this.journal.writeWatermark(end);
  }

  private devicePath(serial: string): string {
    return join(this.dir, 'devices', shard(serial), `${serial}.json`);
  }

  private indexPath(kind: 'keys' | 'certs', key: string): string {
    return join(this.dir, 'index', kind, key.slice(0, 2), key);
  }

  private materialize(d: DeviceDoc, replay: boolean): void {
    const path = this.devicePath(d.serial);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(d));
    renameSync(tmp, path);
    for (const [kind, key] of [['keys', d.spkiSha256], ['certs', d.certSerial]] as const) {
      const p = this.indexPath(kind, key);
      closeSync(openSync(p, replay ? 'w' : 'wx'));
    }
  }

  async findConflicts(candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>): Promise<Conflict[]> {
    const out: Conflict[] = [];
    for (const c of candidates) {
      if (existsSync(this.devicePath(c.serial))) out.push({ kind: 'serial', value: c.serial });
      if (existsSync(this.indexPath('keys', c.spkiSha256))) out.push({ kind: 'key', value: c.spkiSha256 });
      if (c.certSerial && existsSync(this.indexPath('certs', c.certSerial))) out.push({ kind: 'certSerial', value: c.certSerial });
    }
    return out;
  }

  async commitDevices(devices: readonly DeviceRecord[]): Promise<void> {
    if (devices.length === 0) return;
    await this.withLock(async () => {
      const conflicts = await this.findConflicts(devices);
      if (conflicts.length > 0) {
        const c = conflicts[0]!;
        const code = c.kind === 'serial' ? 'ERR_DUPLICATE_SERIAL' : c.kind === 'key' ? 'ERR_DUPLICATE_KEY' : 'ERR_DUPLICATE_CERT_SERIAL';
        const what = c.kind === 'serial' ? `device serial ${c.value} was issued before` : c.kind === 'key' ? `public key ${c.value.slice(0, 16)}... is already certified` : `certificate serial ${c.value} was used before`;
        throw new CustodyError(code, `${this.dir}: ${what}`);
      }
      const docs = devices.map(toDoc);
      const end = this.journal.append(docs.map((d): JournalRecord => ({ t: 'device', d })));
      for (const d of docs) this.materialize(d, false);
      this.journal.writeWatermark(end);
    });
  }

  async getDevice(serial: string): Promise<DeviceRecord | undefined> {
    const path = this.devicePath(serial);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
    return fromDoc(JSON.parse(text) as DeviceDoc, path);
  }

  async countDevices(): Promise<number> {
    const root = join(this.dir, 'devices');
    let n = 0;
    for (const s of readdirSync(root)) n += readdirSync(join(root, s)).filter((f) => f.endsWith('.json')).length;
    return n;
  }

  async getCA(name: string): Promise<CARecord | undefined> {
    return this.db.data.cas[name];
  }

  async listCAs(): Promise<CARecord[]> {
    return Object.values(this.db.data.cas);
  }

  async addCA(record: CARecord): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      if (this.db.data.cas[record.name] || this.db.data.parties[record.name]) throw new CustodyError('ERR_CONFLICT_NAME', `${this.dir}: the name "${record.name}" is already used in this store`);
      this.db.data.cas[record.name] = record;
      await this.db.write();
    });
  }

  async getParty(name: string): Promise<PartyRecord | undefined> {
    return this.db.data.parties[name];
  }

  async listParties(): Promise<PartyRecord[]> {
    return Object.values(this.db.data.parties);
  }

  async addParty(record: PartyRecord): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      if (this.db.data.cas[record.name] || this.db.data.parties[record.name]) throw new CustodyError('ERR_CONFLICT_NAME', `${this.dir}: the name "${record.name}" is already used in this store`);
      this.db.data.parties[record.name] = record;
      await this.db.write();
    });
  }

  async close(): Promise<void> {
    this.journal.close();
  }
}
