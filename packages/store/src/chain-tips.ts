/**
 * Where devices' chains end, for the handoff path: read from the serial index and the journal, and remembered
 * between a batch's read of a tip and its append after it, so that the append need not read the tip again.
 */
import type { ChainFacts } from '@custody/core/ports';
import { samePos, sha256Hex, storedBytes } from './device-records.js';
import { readHeads, readRecord } from './journal-record.js';
import type { HashIndex, RecordPosition } from './hash-index.js';
import type { Journal } from './journal.js';

/** Where a device's chain ends, as the serial index and its newest record tell. */
export interface Tip {
  pos: RecordPosition;
  length: number;
  hash: string | null;
}

/**
 * A tip as read from its record, with what the newest statement says: the facts recorded beside it, or else the
 * attestation's DER. Only reads carry them: remembered tips leave them out, as a batch's thousands of them would
 * outlive every young-generation collection.
 */
export interface ReadTip extends Tip {
  facts?: ChainFacts;
  last?: Uint8Array;
}

/** Chain tips remembered between a read and the append after it. */
const TIP_MEMORY = 65_536;

/** The chain tips of one store's devices, with a bounded memory of those this process read or wrote. */
export class ChainTips {
  private tips = new Map<string, Tip>();
  /**
   * Tips remembered before the journal was found to have moved (`distrust`): each is used only once the serial
   * index, read under the lock, still points where it did.
   */
  private doubted = new Map<string, Tip>();

  /** Reads tips through `serials` (the serial index) and `journal`, the store's own. */
  constructor(
    private readonly serials: HashIndex,
    private readonly journal: Journal,
  ) {}

  /**
   * Where devices' chains end, with what each newest statement says (the facts recorded beside it, or else its
   * attestation's DER): every tip is read from its record, the index slots and records together.
   */
  readTips(serials: readonly string[]): Array<ReadTip | undefined> {
    const out: Array<ReadTip | undefined> = new Array<ReadTip | undefined>(serials.length).fill(undefined);
    const missing: Array<{ i: number; pos: RecordPosition }> = [];
    this.serials.batch(serials, () =>
      serials.forEach((serial, i) => {
        const pos = this.serials.get(serial);
        if (pos) missing.push({ i, pos });
      }),
    );
    if (missing.length > 0) this.fromRecords(serials, missing, out, true);
    return out;
  }

  /**
   * Where devices' chains end, for an append after them (call with the lock held). A remembered tip is taken as it
   * is when `current` (no other writer appended since the store's `tipsEnd`), or else when the index still points
   * where it did, as is a doubted one; the other tips are read from their records.
   */
  appendTips(serials: readonly string[], current: boolean): Array<Tip | undefined> {
    const out: Array<Tip | undefined> = new Array<Tip | undefined>(serials.length).fill(undefined);
    const missing: Array<{ i: number; pos: RecordPosition }> = [];
    const unread = current ? serials.filter((serial) => !this.tips.has(serial)) : serials;
    this.serials.batch(unread, () =>
      serials.forEach((serial, i) => {
        const known = this.tips.get(serial);
        if (current && known) return void (out[i] = known);
        const pos = this.serials.get(serial);
        if (!pos) return;
        const seen = known ?? this.doubted.get(serial);
        if (seen && samePos(seen.pos, pos)) out[i] = seen;
        else missing.push({ i, pos });
      }),
    );
    // Nothing to read when every tip was remembered (an append right after its getTips): not even an empty
    // readMany, whose empty array of another kind made the compiler throw readMany's optimized code away.
    if (missing.length > 0) this.fromRecords(serials, missing, out, false);
    return out;
  }

  /**
   * Fills `out` with the tips read from the records at `missing` (and remembers them). With `withLast`, each
   * also carries what its newest statement says.
   */
  private fromRecords(
    serials: readonly string[],
    missing: ReadonlyArray<{ i: number; pos: RecordPosition }>,
    out: Array<ReadTip | undefined>,
    withLast: boolean,
  ): void {
    // A device record is read up to its document: its tip says all, but in records older than it.
    const records = readHeads(
      this.journal,
      missing.map((m) => m.pos),
    );
    missing.forEach(({ i, pos }, k) => {
      const serial = serials[i]!;
      let rec = records[k]!;
      // Read whole where the tip does not say all: a record older than tips, or a newest attestation without facts.
      if (rec.t === 'device' && (rec.tip === undefined || (withLast && rec.tip.n > 0 && rec.tip.f === undefined))) rec = readRecord(this.journal, pos);
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
  }

  /** Remembers `tip` as where the chain of `serial` ends. */
  remember(serial: string, tip: Tip): void {
    // A bounded memory of the tips this process read or wrote: a batch reads a tip, then appends after it.
    if (this.tips.size >= TIP_MEMORY) this.tips.clear();
    this.tips.set(serial, tip);
  }

  /**
   * Doubts every remembered tip: the journal moved since they were known current (another writer appended, a
   * crashed writer's tail was replayed), or they were read before this process first held the lock. A doubted tip
   * is checked against the index before use (`appendTips`), which costs one index slot, not a record read: a batch
   * that read its tips ahead of its first append keeps them.
   */
  distrust(): void {
    if (this.doubted.size + this.tips.size > TIP_MEMORY) this.doubted.clear();
    for (const [serial, tip] of this.tips) this.doubted.set(serial, tip);
    this.tips = new Map();
  }
}
