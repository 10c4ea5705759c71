/**
 * The embedded store: one folder on the local disk.
 *
 *   store.json        CAs and parties (lowdb, written durably; small and rarely written)
 *   journal/          write-ahead journal of device records: the source of truth (journal.ts)
 *   index/*.idx       on-disk hash indexes from device serial, public key hash and certificate serial to the
 *                     device's newest journal record (hash-index.ts), derived from the journal
 *   lots/<lot>        the serials of each production lot, one a line, appended per batch
 *   keys/             encrypted private keys, mode 0600
 *
 * Recording a chunk of devices costs one journal append with one fdatasync, and a few positioned reads and
 * writes per device in the indexes, whatever the number already stored: nothing on the write path reads or
 * rewrites the whole store. Writers take a cross-process lock (lock.ts) and first replay any journal tail a
 * crashed writer left.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Low } from 'lowdb';
import { CustodyError } from '@custody/core/errors';
import { toBase64 } from '@custody/core/util/bytes';
import type { AppendResult, AttestationAppend, Conflict, DeviceRecord } from '@custody/core/registry/ports';
import { createHash } from 'node:crypto';
import { DurableJSONFile } from './durable-json-file.js';
import { HashIndex, type RecordPosition } from './hash-index.js';
import { Journal, type JournalPosition } from './journal.js';
import { acquireStoreLock, type StoreLock } from './lock.js';
import type { CARecord, PartyRecord, Revocation, Store } from './types.js';

export const STORE_FORMAT = 'custody-store';
export const STORE_VERSION = 1;

interface StoreDocument {
  format: string;
  version: number;
  createdAt: string;
  cas: Record<string, CARecord>;
  parties: Record<string, PartyRecord>;
  /** Revoked certificates per CA name (absent in stores made before revocation existed). */
  revocations?: Record<string, Revocation[]>;
  /** The last CRLNumber issued per CA name. */
  crlNumbers?: Record<string, number>;
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
  chain?: string[];
  /** Hex SHA-256 of the newest attestation: what the next one's `prev` must be. */
  head?: string;
}

type JournalRecord = { t: 'device'; d: DeviceDoc };

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Commits between two writes of the replay watermark. */
const WATERMARK_EVERY = 64;

const LOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

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
  if (r.chain !== undefined) d.chain = r.chain.map(toBase64);
  const last = r.attestations.at(-1);
  if (last !== undefined) d.head = sha256Hex(last);
  return d;
}

function fromDoc(d: DeviceDoc, file: string): DeviceRecord {
  // Store documents are the store's own writing, checksummed in the journal: plain decoding is enough.
  const bin = (s: string) => {
    const b = Buffer.from(s, 'base64');
    if (b.length === 0 && s.length > 0) throw new CustodyError('ERR_STORE_CORRUPT', `${file}: invalid base64`, { file });
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  };
  const { chain, head: _head, ...rest } = d;
  const r: DeviceRecord = { ...rest, certificate: bin(d.certificate), attestations: d.attestations.map(bin) };
  if (chain !== undefined) r.chain = chain.map(bin);
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
  private readonly serials: HashIndex;
  private unmarked: JournalPosition | undefined;
  private commitsSinceMark = 0;
  private readonly keys: HashIndex;
  private readonly certSerials: HashIndex;

  private constructor(
    private readonly dir: string,
    private readonly db: Low<StoreDocument>,
    opts: EmbeddedStoreOptions,
  ) {
    this.location = dir;
    this.keyDir = join(dir, 'keys');
    this.journal = new Journal(join(dir, 'journal'));
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.serials = new HashIndex(join(dir, 'index', 'serials.idx'));
    this.keys = new HashIndex(join(dir, 'index', 'keys.idx'));
    this.certSerials = new HashIndex(join(dir, 'index', 'certs.idx'));
  }

  /**
   * Creates a new store folder.
   * @throws ERR_CONFLICT_STORE_EXISTS when a store is already there
   */
  static async init(dir: string, now: Date, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    const abs = resolve(dir);
    if (existsSync(join(abs, 'store.json'))) throw new CustodyError('ERR_CONFLICT_STORE_EXISTS', `${abs}: a custody store already exists here`, { file: abs });
    for (const sub of ['keys', 'journal', 'index', 'lots']) mkdirSync(join(abs, sub), { recursive: true, mode: sub === 'keys' ? 0o700 : 0o755 });
    for (const idx of ['serials', 'keys', 'certs']) HashIndex.create(join(abs, 'index', `${idx}.idx`));
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

  /** Applies journal records past the watermark to the indexes. Idempotent. */
  private recover(): void {
    for (const idx of [this.serials, this.keys, this.certSerials]) idx.refresh();
    // Our own commits since the last mark are applied: start after them (they are the tail's beginning).
    const from = this.unmarked ?? this.journal.readWatermark();
    const { records, end } = this.journal.readFrom(from);
    if (records.length === 0 && end.segment === from.segment && end.offset === from.offset) return;
    const docs: DeviceDoc[] = [];
    for (const { record, pos } of records as Array<{ record: JournalRecord; pos: RecordPosition }>) {
      if (record.t === 'device') {
        this.index(record.d, pos, true);
        docs.push(record.d);
      }
    }
    this.appendLots(docs);
    this.unmarked = end;
    this.markApplied();
  }

  private index(d: DeviceDoc, pos: RecordPosition, replace: boolean): void {
    this.serials.put(d.serial, pos, replace);
    this.keys.put(d.spkiSha256, pos, replace);
    this.certSerials.put(d.certSerial, pos, replace);
  }

  async findConflicts(candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>): Promise<Conflict[]> {
    const out: Conflict[] = [];
    for (const idx of [this.serials, this.keys, this.certSerials]) idx.refresh();
    for (const c of candidates) {
      if (this.serials.get(c.serial)) out.push({ kind: 'serial', value: c.serial });
      if (this.keys.get(c.spkiSha256)) out.push({ kind: 'key', value: c.spkiSha256 });
      if (c.certSerial && this.certSerials.get(c.certSerial)) out.push({ kind: 'certSerial', value: c.certSerial });
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
      this.writeDocs(docs, true);
      this.appendLots(docs);
    });
  }

  /** The newest record of a device (call with the lock held for a consistent view). */
  private readDoc(serial: string): { doc: DeviceDoc; pos: RecordPosition } | undefined {
    const pos = this.serials.get(serial);
    if (!pos) return undefined;
    const rec = this.journal.readAt(pos) as JournalRecord;
    if (rec.t !== 'device' || rec.d.serial !== serial) return undefined;
    return { doc: rec.d, pos };
  }

  /**
   * Writes new versions of device documents: one journal append, then the indexes. The applied-up-to
   * watermark is only an optimisation of replay (replaying an applied record changes nothing), so it is
   * written every few commits and on close rather than after each one: a station committing one device at a
   * time saves a file write and a rename per device.
   */
  private writeDocs(docs: readonly DeviceDoc[], fresh: boolean): void {
    if (docs.length === 0) return;
    const { positions, end } = this.journal.append(docs.map((d): JournalRecord => ({ t: 'device', d })));
    docs.forEach((d, i) => this.index(d, positions[i]!, !fresh));
    this.unmarked = end;
    if (++this.commitsSinceMark >= WATERMARK_EVERY) this.markApplied();
  }

  private markApplied(): void {
    if (this.unmarked) this.journal.writeWatermark(this.unmarked);
    this.unmarked = undefined;
    this.commitsSinceMark = 0;
  }

  async appendAttestations(items: readonly AttestationAppend[]): Promise<AppendResult[]> {
    return this.withLock(() => {
      const results: AppendResult[] = [];
      const updated = new Map<string, DeviceDoc>();
      for (const item of items) {
        const current = updated.get(item.serial) ?? this.readDoc(item.serial)?.doc;
        if (!current) {
          results.push({ serial: item.serial, ok: false, code: 'ERR_DEVICE_UNKNOWN', message: `device ${item.serial} is not in ${this.dir}` });
          continue;
        }
        const last = current.attestations.at(-1);
        const lastHash = current.head ?? (last === undefined ? null : sha256Hex(Buffer.from(last, 'base64')));
        if (lastHash !== item.prev) {
          results.push({ serial: item.serial, ok: false, code: 'ERR_FORK', message: `device ${item.serial}: its chain no longer ends where this attestation extends it (a second transfer from the same point)` });
          continue;
        }
        updated.set(item.serial, { ...current, attestations: [...current.attestations, toBase64(item.attestation)], head: sha256Hex(item.attestation) });
        results.push({ serial: item.serial, ok: true });
      }
      this.writeDocs([...updated.values()], false);
      return results;
    });
  }

  async importDevice(device: DeviceRecord): Promise<'added' | 'extended' | 'unchanged'> {
    return this.withLock(async () => {
      const incoming = toDoc(device);
      const current = this.readDoc(device.serial)?.doc;
      if (!current) {
        const conflicts = await this.findConflicts([incoming]);
        if (conflicts.length > 0) throw new CustodyError(conflicts[0]!.kind === 'key' ? 'ERR_DUPLICATE_KEY' : 'ERR_DUPLICATE_CERT_SERIAL', `${this.dir}: device ${device.serial}: its ${conflicts[0]!.kind === 'key' ? 'public key' : 'certificate serial'} is already recorded for another device`);
        this.writeDocs([incoming], true);
        return 'added';
      }
      if (current.certificate !== incoming.certificate) throw new CustodyError('ERR_CONFLICT_DEVICE', `device ${device.serial}: the store holds a different certificate for this serial`);
      const a = current.attestations;
      const b = incoming.attestations;
      const common = Math.min(a.length, b.length);
      for (let i = 0; i < common; i++) {
        if (a[i] !== b[i]) throw new CustodyError('ERR_FORK', `device ${device.serial}: attestation ${i} differs from the one recorded (the chain forked)`);
      }
      if (b.length <= a.length) return 'unchanged';
      this.writeDocs([{ ...current, attestations: b }], false);
      return 'extended';
    });
  }

  private appendLots(docs: readonly DeviceDoc[]): void {
    const byLot = new Map<string, string[]>();
    for (const d of docs) if (d.lot !== undefined && LOT_NAME.test(d.lot)) byLot.set(d.lot, [...(byLot.get(d.lot) ?? []), d.serial]);
    for (const [lot, serials] of byLot) appendFileSync(join(this.dir, 'lots', lot), serials.join('\n') + '\n');
  }

  async getDevice(serial: string): Promise<DeviceRecord | undefined> {
    // readDoc checks the record's serial: the index keys on a hash prefix.
    const found = this.readDoc(serial);
    return found && fromDoc(found.doc, this.location);
  }

  /** Serials of a production lot, in the order they were recorded. */
  async listLot(lot: string): Promise<string[]> {
    if (!LOT_NAME.test(lot)) return [];
    const file = join(this.dir, 'lots', lot);
    if (!existsSync(file)) return [];
    return [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))];
  }

  async countDevices(): Promise<number> {
    this.serials.refresh();
    return this.serials.size;
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

  async revoke(caName: string, revocation: Revocation): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      const data = this.db.data;
      if (!data.cas[caName]) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${caName}" in ${this.dir}`);
      const list = (data.revocations ??= {})[caName] ?? [];
      const before = list.find((r) => r.serialHex === revocation.serialHex);
      if (before) throw new CustodyError('ERR_CONFLICT_REVOKED', `certificate serial ${revocation.serialHex} of CA "${caName}" was already revoked on ${before.revokedAt}`);
      data.revocations[caName] = [...list, { ...revocation }];
      await this.db.write();
    });
  }

  async listRevocations(caName: string): Promise<Revocation[]> {
    // Re-read: another process may have revoked since this one opened the store.
    await this.db.read();
    return [...(this.db.data.revocations?.[caName] ?? [])];
  }

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

  async recordChallenge(nonceHex: string, challenge: Uint8Array): Promise<void> {
    const dir = join(this.dir, 'challenges');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${nonceHex}.json`), challenge, { flag: 'wx' });
  }

  async consumeChallenge(nonceHex: string): Promise<'consumed' | 'already-used' | 'unknown'> {
    if (!/^[0-9a-f]{32,128}$/.test(nonceHex)) return 'unknown';
    const open = join(this.dir, 'challenges', `${nonceHex}.json`);
    // rename is atomic: of two verifiers consuming one nonce at once, exactly one succeeds.
    try {
      renameSync(open, `${open}.used`);
      return 'consumed';
    } catch {
      return existsSync(`${open}.used`) ? 'already-used' : 'unknown';
    }
  }

  async close(): Promise<void> {
    if (this.unmarked) await this.withLock(() => this.markApplied()).catch(() => undefined);
    this.journal.close();
    for (const idx of [this.serials, this.keys, this.certSerials]) idx.close();
  }
}
