/**
 * The embedded store: one folder on the local disk.
 *
 *   store.json        CAs and parties (lowdb, written durably; small and rarely written)
 *   journal/          write-ahead journal: the source of truth (journal.ts). A device document per new device
 *                     (certificate, birth) and an attestation record per later attestation, naming the device's
 *                     record before it, so that a handoff appends a few hundred bytes and rewrites nothing
 *   index/*.idx       on-disk hash indexes from device serial (to the device's newest record), public key hash
 *                     and certificate serial (to its document) (hash-index.ts), derived from the journal
 *   lots/<lot>        the serials of each production lot, one a line, appended per batch
 *   keys/             encrypted private keys, mode 0600
 *   log/              the transparency log of every attestation, derived from the journal (log-store.ts)
 *   evidence/         device records from elsewhere that disagreed with the recorded chain (fork evidence)
 *   checkpoints.jsonl the log checkpoints this store signed, each one that grew the tree (checkpoint-history.ts)
 *
 * Recording a chunk of devices costs one journal append with one fdatasync, and in each index a few long reads
 * and writes of the pages around the chunk's slots (slot-pages.ts), whatever the number already stored:
 * nothing on the write path reads or rewrites the whole store. Writers take a cross-process lock (lock.ts)
 * and first replay any journal tail a crashed writer left.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Low } from 'lowdb';
import { CustodyError } from '@custody/core/errors';
import type { AppendResult, AttestationAppend, ChainFacts, ChainTip, Conflict, DeviceRecord } from '@custody/core/registry/ports';
import { randomUUID } from 'node:crypto';
import { deviceTip, encodeAttestationRecord, factsOf, fromDoc, logEntriesOf, numberLogLeaves, samePos, sha256Hex, storedBytes, toDoc, type AttestationRecord, type DeviceDoc, type DeviceTip, type HeadOfRecord, type JournalRecord } from './device-records.js';
import { keepEvidence, listEvidence } from './fork-evidence.js';
import { DurableJSONFile } from './durable-json-file.js';
import { HashIndex, type RecordPosition } from './hash-index.js';
import { Journal, type JournalPosition } from './journal.js';
import { acquireStoreLock, type StoreLock } from './lock.js';
import { LogStore, type LogEntry } from './log-store.js';
import { roundsBySerial } from './rounds.js';
import type { NodeStore } from '@custody/core/log/node-store';
import type { EvidenceRecord, EvidenceStore, LogConfig, TransparencyLogStore } from './types.js';
import type { CARecord, PartyRecord, Revocation, Store } from './types.js';

export const STORE_FORMAT = 'custody-store';
export const STORE_VERSION = 1;

interface StoreDocument {
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

/** Where a device's chain ends, as the serial index and its newest record tell. */
interface Tip {
  pos: RecordPosition;
  length: number;
  hash: string | null;
}

/**
 * A tip as read from its record, with what the newest statement says: the facts recorded beside it, or else the
 * attestation's DER. Only reads carry them: remembered tips leave them out, as a batch's thousands of them would
 * outlive every young-generation collection.
 */
interface ReadTip extends Tip {
  facts?: ChainFacts;
  last?: Uint8Array;
}

/** Chain tips remembered between a read and the append after it. */
const TIP_MEMORY = 65_536;

/** Commits between two writes of the replay watermark. */
const WATERMARK_EVERY = 64;

const LOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface EmbeddedStoreOptions {
  /** How long a writer waits for another writer's lock. */
  lockTimeoutMs?: number;
}

export class EmbeddedStore implements Store, TransparencyLogStore, EvidenceStore {
  readonly location: string;
  readonly keyDir: string;
  private readonly journal: Journal;
  private readonly lockTimeoutMs: number;
  private readonly serials: HashIndex;
  private unmarked: JournalPosition | undefined;
  private commitsSinceMark = 0;
  private readonly keys: HashIndex;
  private readonly certSerials: HashIndex;
  private readonly logStore: LogStore;
  private readonly tips = new Map<string, Tip>();
  /** The journal end at which every remembered tip was known current: where this process's last append ended. */
  private tipsEnd: JournalPosition | undefined;

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
    this.keys = new HashIndex(join(dir, 'index', 'keys.idx'), true);
    this.certSerials = new HashIndex(join(dir, 'index', 'certs.idx'), true);
    this.logStore = new LogStore(join(dir, 'log'));
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
    const db = new Low<StoreDocument>(new DurableJSONFile(join(abs, 'store.json')), { format: STORE_FORMAT, version: STORE_VERSION, id: randomUUID(), createdAt: now.toISOString(), cas: {}, parties: {} });
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
    const lock: StoreLock = await acquireStoreLock(this.dir, this.lockTimeoutMs, this.db.data.id);
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
    const logSize = this.logStore.size();
    const leaves: LogEntry[] = [];
    const typed = records as Array<{ record: JournalRecord; pos: RecordPosition }>;
    this.indexBatch(typed.flatMap(({ record }) => (record.t === 'device' ? [record.d] : record.t === 'att' ? [{ serial: record.s }] : [])), () => {
      for (const { record, pos } of typed) {
        if (record.t === 'device') {
          this.index(record.d, pos, true);
          docs.push(record.d);
          leaves.push(...logEntriesOf(record.d, pos, logSize));
        } else if (record.t === 'att') {
          this.serials.put(record.s, pos, true);
          if (record.l >= logSize) leaves.push({ leafIndex: record.l, attestation: storedBytes(record.a), pos, seq: record.q });
        }
      }
    });
    this.logStore.append(leaves);
    // A device's first version is the one that names its lot (later versions only add attestations). A
    // replay may append a serial its lot already lists: listLot removes repeats.
    this.appendLots(docs.filter((d) => d.attestations.length <= 1));
    this.unmarked = end;
    this.markApplied();
  }

  /**
   * Runs the index writes of `docs` (device documents, and the serials of attestation records), each index's
   * slots read ahead and written back in a few long runs, with one header count write before and one after.
   */
  private indexBatch(docs: ReadonlyArray<DeviceDoc | { serial: string }>, write: () => void): void {
    const all = [this.serials, this.keys, this.certSerials];
    for (const idx of all) idx.reserve(docs.length);
    const full = docs.filter((d): d is DeviceDoc => 'certSerial' in d);
    this.serials.batch(docs.map((d) => d.serial), () =>
      this.keys.batch(full.map((d) => d.spkiSha256), () => this.certSerials.batch(full.map((d) => d.certSerial), write)),
    );
    for (const idx of all) idx.settle();
  }

  /**
   * Points the indexes at a device's newest record. Only the serial index is read for records; the key and
   * certificate-serial indexes answer "is it taken", so a later version of a device (a handoff) leaves them
   * alone unless replay is rebuilding them.
   */
  private index(d: DeviceDoc, pos: RecordPosition, replace: boolean, newVersion = false): void {
    this.serials.put(d.serial, pos, replace);
    if (newVersion) return;
    this.keys.put(d.spkiSha256, pos, replace);
    this.certSerials.put(d.certSerial, pos, replace);
  }

  async findConflicts(candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>): Promise<Conflict[]> {
    const out: Conflict[] = [];
    for (const idx of [this.serials, this.keys, this.certSerials]) idx.refresh();
    const certSerials = candidates.flatMap((c) => (c.certSerial ? [c.certSerial] : []));
    const taken = {
      serial: this.serials.getMany(candidates.map((c) => c.serial)),
      key: this.keys.getMany(candidates.map((c) => c.spkiSha256)),
      certSerial: new Map(this.certSerials.getMany(certSerials).map((pos, i) => [certSerials[i]!, pos])),
    };
    candidates.forEach((c, i) => {
      if (taken.serial[i]) out.push({ kind: 'serial', value: c.serial });
      if (taken.key[i]) out.push({ kind: 'key', value: c.spkiSha256 });
      if (c.certSerial && taken.certSerial.get(c.certSerial)) out.push({ kind: 'certSerial', value: c.certSerial });
    });
    return out;
  }

  async commitDevices(devices: readonly DeviceRecord[]): Promise<void> {
    if (devices.length === 0) return;
    const seen = { serial: new Set<string>(), key: new Set<string>(), certSerial: new Set<string>() };
    for (const d of devices) {
      for (const [kind, value, code] of [['serial', d.serial, 'ERR_DUPLICATE_SERIAL'], ['key', d.spkiSha256, 'ERR_DUPLICATE_KEY'], ['certSerial', d.certSerial, 'ERR_DUPLICATE_CERT_SERIAL']] as const) {
        if (seen[kind].has(value)) throw new CustodyError(code, `${this.dir}: ${kind === 'serial' ? `device serial ${value}` : kind === 'key' ? 'one public key' : `certificate serial ${value}`} appears twice in one commit`);
        seen[kind].add(value);
      }
    }
    await this.withLock(async () => {
      const conflicts = await this.findConflicts(devices);
      if (conflicts.length > 0) {
        const c = conflicts[0]!;
        const code = c.kind === 'serial' ? 'ERR_DUPLICATE_SERIAL' : c.kind === 'key' ? 'ERR_DUPLICATE_KEY' : 'ERR_DUPLICATE_CERT_SERIAL';
        const what = c.kind === 'serial' ? `device serial ${c.value} was issued before` : c.kind === 'key' ? `public key ${c.value.slice(0, 16)}... is already certified` : `certificate serial ${c.value} was used before`;
        throw new CustodyError(code, `${this.dir}: ${what}`);
      }
      const docs = devices.map(toDoc);
      await this.writeDocs(docs, devices.map((d, i) => deviceTip(d, docs[i]!)), true);
    });
  }

  /**
   * A device's whole document: its newest device record with the attestation records after it (call with the
   * lock held for a consistent view).
   */
  private readDoc(serial: string): { doc: DeviceDoc; pos: RecordPosition } | undefined {
    const newest = this.serials.get(serial);
    if (!newest) return undefined;
    const later: AttestationRecord[] = [];
    for (let pos = newest; ; ) {
      const rec = this.journal.readAt(pos) as JournalRecord;
      if (rec.t === 'att' && rec.s === serial) {
        later.push(rec);
        pos = rec.b;
        continue;
      }
      // The index keys on a hash prefix: a record of another serial means this one is not recorded.
      if (rec.t !== 'device' || rec.d.serial !== serial) {
        if (later.length > 0) throw new CustodyError('ERR_STORE_CORRUPT', `${this.dir}: device ${serial}: an attestation record points at a record of another device`);
        return undefined;
      }
      if (later.length === 0) return { doc: rec.d, pos };
      later.reverse();
      const doc = { ...rec.d, attestations: [...rec.d.attestations, ...later.map((r) => r.a)], log: [...(rec.d.log ?? []), ...later.map((r) => r.l)], head: later.at(-1)!.h };
      return { doc, pos: newest };
    }
  }

  /**
   * Where devices' chains end: the index slots and records not remembered are read together. Unless `withLast`
   * asks what the newest statements say (which only a record read gives: its facts, or else its attestation's
   * DER), a record is not read when the index still points where it last did, and not even the index when
   * `current`: the lock is held and no other writer appended since `tipsEnd`.
   */
  private tipsOf(serials: readonly string[], current: boolean, withLast: boolean): Array<ReadTip | undefined> {
    const out: Array<ReadTip | undefined> = new Array<ReadTip | undefined>(serials.length).fill(undefined);
    const missing: Array<{ i: number; pos: RecordPosition }> = [];
    const remembered = (serial: string) => (withLast ? undefined : this.tips.get(serial));
    const unread = current ? serials.filter((serial) => !remembered(serial)) : serials;
    this.serials.batch(unread, () =>
      serials.forEach((serial, i) => {
        const known = remembered(serial);
        if (current && known) return void (out[i] = known);
        const pos = this.serials.get(serial);
        if (!pos) return;
        if (known && samePos(known.pos, pos)) out[i] = known;
        else missing.push({ i, pos });
      }),
    );
    // Nothing to read when every tip was remembered (an append right after its getTips): not even an empty
    // readMany, whose empty array of another kind made the compiler throw readMany's optimized code away.
    if (missing.length === 0) return out;
    // A device record is read up to its document: its tip says all, but in records older than it.
    const records = this.journal.readMany(missing.map((m) => m.pos), 'd') as HeadOfRecord[];
    missing.forEach(({ i, pos }, k) => {
      const serial = serials[i]!;
      let rec = records[k]!;
      // Read whole where the tip does not say all: a record older than tips, or a newest attestation without facts.
      if (rec.t === 'device' && (rec.tip === undefined || (withLast && rec.tip.n > 0 && rec.tip.f === undefined))) rec = this.journal.readAt(pos) as JournalRecord;
      let tip: Tip;
      let facts: ChainFacts | undefined;
      let b64: string | undefined;
      if (rec.t === 'att' && rec.s === serial) {
        tip = { pos, length: rec.q + 1, hash: rec.h };
        facts = rec.f;
        b64 = rec.a;
      } else if (rec.t === 'device' && rec.d === undefined && rec.tip?.s === serial) {
        tip = { pos, length: rec.tip.n, hash: rec.tip.h };
        facts = rec.tip.f;
      } else if (rec.t === 'device' && rec.d?.serial === serial) {
        b64 = rec.d.attestations.at(-1);
        tip = { pos, length: rec.d.attestations.length, hash: rec.d.head ?? (b64 === undefined ? null : sha256Hex(storedBytes(b64))) };
      } else return; // the index keys on a hash prefix: a record of another serial means this one is not recorded
      this.remember(serial, tip);
      if (!withLast) out[i] = tip;
      // Each built whole, not spread from `tip`: a spread costs an object clone per device on the handoff path.
      else if (facts) out[i] = { pos: tip.pos, length: tip.length, hash: tip.hash, facts };
      else out[i] = b64 === undefined ? tip : { pos: tip.pos, length: tip.length, hash: tip.hash, last: storedBytes(b64) };
    });
    return out;
  }


  private remember(serial: string, tip: Tip): void {
    // A bounded memory of the tips this process read or wrote: a batch reads a tip, then appends after it.
    if (this.tips.size >= TIP_MEMORY) this.tips.clear();
    this.tips.set(serial, tip);
  }

  async getTips(serials: readonly string[]): Promise<Array<ChainTip | undefined>> {
    this.serials.ensureCurrent();
    return this.tipsOf(serials, false, true).map((tip, i) => {
      const serial = serials[i]!;
      if (!tip) return undefined;
      if (tip.facts) return { serial, length: tip.length, lastHash: tip.hash, facts: tip.facts };
      if (tip.last) return { serial, length: tip.length, lastHash: tip.hash, last: tip.last };
      return { serial, length: tip.length, lastHash: tip.hash };
    });
  }


  /**
   * Writes new versions of device documents: one journal append, then the indexes. The applied-up-to
   * watermark is only an optimisation of replay (replaying an applied record changes nothing), so it is
   * written every few commits and on close rather than after each one: a station committing one device at a
   * time saves a file write and a rename per device. Each document's record leads with its tip (`tips[i]`).
   */
  private async writeDocs(docs: readonly DeviceDoc[], tips: readonly DeviceTip[], fresh: boolean): Promise<void> {
    if (docs.length === 0) return;
    const logSize = numberLogLeaves(docs, this.logStore.size());
    const { positions, end } = await this.journal.append(docs.map((d, i): JournalRecord => ({ t: 'device', tip: tips[i]!, d })));
    this.indexBatch(fresh ? docs : docs.map((d) => ({ serial: d.serial })), () => docs.forEach((d, i) => this.index(d, positions[i]!, !fresh, !fresh)));
    this.logStore.append(docs.flatMap((d, i) => logEntriesOf(d, positions[i]!, logSize)));
    // Lots before the mark: a crash after the mark must not leave recorded devices out of their lot.
    if (fresh) this.appendLots(docs);
    this.unmarked = end;
    if (++this.commitsSinceMark >= WATERMARK_EVERY) this.markApplied();
  }

  private markApplied(): void {
    if (this.unmarked) this.journal.writeWatermark(this.unmarked);
    this.unmarked = undefined;
    this.commitsSinceMark = 0;
  }

  async appendAttestations(items: readonly AttestationAppend[]): Promise<AppendResult[]> {
    return this.withLock(async () => {
      // Remembered tips are current when the journal ends where this process's last append left it; else each
      // is checked against the index (complete under the lock) before use.
      const end = this.journal.end();
      const current = this.tipsEnd !== undefined && end.segment === this.tipsEnd.segment && end.offset === this.tipsEnd.offset;
      // Otherwise another writer appended since: remembered tips, some read without the lock, may predate its
      // records. They are forgotten, not only checked here: this append moves tipsEnd to its own end, after
      // which every tip still remembered counts as current.
      if (!current) this.tips.clear();
      const results: AppendResult[] = new Array(items.length);
      // Round k holds each device's k-th item: a record names its predecessor's position, known once written.
      for (const round of roundsBySerial(items)) {
        const { records, ders } = this.roundRecords(items, round, current, results);
        await this.writeAttestations(records, ders);
      }
      return results;
    });
  }

  /**
   * The records of one round of an append, each checked against its device's tip; `results` gets each item's
   * outcome. A synchronous method of its own, so that the optimizing compiler builds the per-device loop alone
   * (about 45 ms), not the append's whole async callback around it (40 to 120 ms a build, twice a batch).
   */
  private roundRecords(items: readonly AttestationAppend[], round: readonly number[], current: boolean, results: AppendResult[]): { records: Array<Omit<AttestationRecord, 'a'>>; ders: Uint8Array[] } {
    const records: Array<Omit<AttestationRecord, 'a'>> = [];
    const ders: Uint8Array[] = [];
    let leaf = this.logStore.size();
    const tips = this.tipsOf(round.map((i) => items[i]!.serial), current, false);
    for (let k = 0; k < round.length; k++) {
      const i = round[k]!;
      const item = items[i]!;
      const tip = tips[k];
      if (!tip) {
        results[i] = { serial: item.serial, ok: false, code: 'ERR_DEVICE_UNKNOWN', message: `device ${item.serial} is not in ${this.dir}` };
      } else if (tip.hash !== item.prev) {
        results[i] = { serial: item.serial, ok: false, code: 'ERR_FORK', message: `device ${item.serial}: its chain no longer ends where this attestation extends it (a second transfer from the same point)` };
      } else {
        const f = item.facts ?? factsOf(item.serial, tip.length, item.attestation);
        const record: Omit<AttestationRecord, 'a'> = { t: 'att', s: item.serial, q: tip.length, h: sha256Hex(item.attestation), l: leaf++, b: tip.pos };
        if (f) record.f = f;
        records.push(record);
        ders.push(item.attestation);
        results[i] = { serial: item.serial, ok: true };
      }
    }
    return { records, ders };
  }

  /** One journal append for the records, then the serial index and the log. */
  private async writeAttestations(records: readonly Omit<AttestationRecord, 'a'>[], ders: readonly Uint8Array[]): Promise<void> {
    if (records.length === 0) return;
    const { positions, end } = await this.journal.append(records.map((r, i) => encodeAttestationRecord(r, ders[i]!)));
    const entries: LogEntry[] = this.serials.batch(
      records.map((r) => r.s),
      () =>
        records.map((r, i) => {
          const pos = positions[i]!;
          this.serials.put(r.s, pos, true);
          this.remember(r.s, { pos, length: r.q + 1, hash: r.h });
          return { leafIndex: r.l, attestation: ders[i]!, pos, seq: r.q };
        }),
    );
    this.logStore.append(entries);
    this.tipsEnd = end;
    this.unmarked = end;
    if (++this.commitsSinceMark >= WATERMARK_EVERY) this.markApplied();
  }

  async importDevice(device: DeviceRecord): Promise<'added' | 'extended' | 'unchanged'> {
    return this.withLock(async () => {
      const incoming = toDoc(device);
      const current = this.readDoc(device.serial)?.doc;
      if (!current) {
        const conflicts = await this.findConflicts([incoming]);
        if (conflicts.length > 0) throw new CustodyError(conflicts[0]!.kind === 'key' ? 'ERR_DUPLICATE_KEY' : 'ERR_DUPLICATE_CERT_SERIAL', `${this.dir}: device ${device.serial}: its ${conflicts[0]!.kind === 'key' ? 'public key' : 'certificate serial'} is already recorded for another device`);
        await this.writeDocs([incoming], [deviceTip(device, incoming)], true);
        return 'added';
      }
      if (current.certificate !== incoming.certificate) throw new CustodyError('ERR_CONFLICT_DEVICE', `device ${device.serial}: the store holds a different certificate for this serial`);
      const a = current.attestations;
      const b = incoming.attestations;
      const common = Math.min(a.length, b.length);
      for (let i = 0; i < common; i++) {
        if (a[i] !== b[i]) {
          const reason = `device ${device.serial}: attestation ${i} differs from the one recorded (the chain forked)`;
          const file = keepEvidence(join(this.dir, 'evidence'), incoming, i, reason);
          throw new CustodyError('ERR_FORK', `${reason}; the disagreeing record is kept in ${file}`);
        }
      }
      if (b.length <= a.length) return 'unchanged';
      await this.writeDocs([{ ...current, attestations: b, ...(incoming.head ? { head: incoming.head } : {}) }], [deviceTip(device, incoming)], false);
      return 'extended';
    });
  }

  private appendLots(docs: readonly DeviceDoc[]): void {
    const byLot = new Map<string, string[]>();
    for (const d of docs) if (d.lot !== undefined && LOT_NAME.test(d.lot)) byLot.set(d.lot, [...(byLot.get(d.lot) ?? []), d.serial]);
    for (const [lot, serials] of byLot) appendFileSync(join(this.dir, 'lots', lot), serials.join('\n') + '\n');
  }

  async getDevice(serial: string): Promise<DeviceRecord | undefined> {
    // Another writer may have grown (replaced) the index file since this process opened it.
    this.serials.ensureCurrent();
    const found = this.readDoc(serial);
    return found && fromDoc(found.doc, this.location);
  }

  /** Every device, newest version of each (reads the whole journal: for audits, not for hot paths). */
  async listDevices(): Promise<DeviceRecord[]> {
    const latest = new Map<string, DeviceDoc>();
    for (const { record } of this.journal.readFrom({ segment: 1, offset: 0 }, false).records as Array<{ record: JournalRecord }>) {
      if (record.t === 'device') latest.set(record.d.serial, record.d);
      else if (record.t === 'att') {
        const d = latest.get(record.s);
        if (d) latest.set(record.s, { ...d, attestations: [...d.attestations, record.a] });
      }
    }
    return [...latest.values()].map((d) => fromDoc(d, this.location));
  }

  /** Serials of a production lot, in the order they were recorded. */
  async listLot(lot: string): Promise<string[]> {
    if (!LOT_NAME.test(lot)) return [];
    const file = join(this.dir, 'lots', lot);
    if (!existsSync(file)) return [];
    return [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))];
  }

  /** Exact count of devices; reads the whole journal (the index's own counter is only a growth hint). */
  async countDevices(): Promise<number> {
    return (await this.listDevices()).length;
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
    return this.readDoc(serial)?.doc.log?.[seq];
  }

  async logLeaf(index: number): Promise<{ serial: string; seq: number } | undefined> {
    const leaf = this.logStore.leafAt(index);
    if (!leaf) return undefined;
    const rec = this.journal.readAt(leaf.pos) as JournalRecord;
    if (rec.t === 'att') return { serial: rec.s, seq: leaf.seq };
    return rec.t === 'device' ? { serial: rec.d.serial, seq: leaf.seq } : undefined;
  }

  async getLogConfig(): Promise<LogConfig | undefined> {
    await this.db.read();
    return this.db.data.log;
  }

  async setLogConfig(config: LogConfig): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      if (this.db.data.log) throw new CustodyError('ERR_CONFLICT_LOG_EXISTS', `${this.dir}: this store already has a log key (origin ${this.db.data.log.origin})`);
      this.db.data.log = config;
      await this.db.write();
    });
  }

  async getSeenCheckpoint(origin: string): Promise<string | undefined> {
    await this.db.read();
    return this.db.data.checkpoints?.[origin];
  }

  async putSeenCheckpoint(origin: string, note: string): Promise<void> {
    await this.withLock(async () => {
      await this.db.read();
      (this.db.data.checkpoints ??= {})[origin] = note;
      await this.db.write();
    });
  }

  async listEvidence(): Promise<EvidenceRecord[]> {
    return listEvidence(join(this.dir, 'evidence'));
  }

  async close(): Promise<void> {
    if (this.unmarked) await this.withLock(() => this.markApplied()).catch(() => undefined);
    this.journal.close();
    this.logStore.close();
    for (const idx of [this.serials, this.keys, this.certSerials]) idx.close();
  }
}
