/**
 * The embedded store's handoff path: attestations appended to chains already recorded, each checked against its
 * device's tip (the chain tips remembered between a batch's read and its append, chain-tips.ts), written as one
 * journal append a round, then the serial index and the log. Call it with the store lock held.
 */
import type { AppendResult, AttestationAppend } from '@custody/core/ports';
import type { AppliedMark } from './applied-mark.js';
import type { ChainTips, Tip } from './chain-tips.js';
import { factsOf, sha256Hex } from './device-records.js';
import type { HashIndex } from './hash-index.js';
import { encodeAttestationRecord, type AttestationRecord } from './journal-record.js';
import type { Journal, JournalPosition } from './journal.js';
import type { LogEntry, LogStore } from './log-store.js';
import { highSRefusal } from './low-s.js';
import { roundsBySerial } from './rounds.js';

/** What the appends of one embedded store write to: its journal, serial index, chain tips, log and watermark. */
export interface AppendTargets {
  /** The store's folder, for messages. */
  dir: string;
  journal: Journal;
  serials: HashIndex;
  tips: ChainTips;
  logStore: LogStore;
  mark: AppliedMark;
}

/** Appends attestations to one embedded store's chains, remembering where its own last append ended. */
export class AttestationAppends {
  /** The journal end at which every remembered tip was known current: where this process's last append ended. */
  private tipsEnd: JournalPosition | undefined;

  constructor(private readonly to: AppendTargets) {}

  /** Appends `items` (call with the lock held): per-item results, refusals included; throws only on I/O failure. */
  async append(items: readonly AttestationAppend[]): Promise<AppendResult[]> {
    // Remembered tips are current when the journal ends where this process's last append left it; else each
    // is checked against the index (complete under the lock) before use.
    const end = this.to.journal.end();
    const current = this.tipsEnd !== undefined && end.segment === this.tipsEnd.segment && end.offset === this.tipsEnd.offset;
    // Otherwise another writer appended since, or this is the first append: remembered tips, some read without
    // the lock, may predate records of others. They are all doubted, not only those this append uses: this
    // append moves tipsEnd to its own end, after which every tip still trusted counts as current.
    if (!current) this.to.tips.distrust();
    const results: AppendResult[] = new Array(items.length);
    // Round k holds each device's k-th item: a record names its predecessor's position, known once written.
    for (const round of roundsBySerial(items)) {
      const tips = this.to.tips.appendTips(
        round.map((i) => items[i]!.serial),
        current,
      );
      const { records, ders } = this.roundRecords(items, round, tips, results);
      await this.writeAttestations(records, ders);
    }
    return results;
  }

  /**
   * The records of one round of an append, each checked against its device's tip (`tips`, read by the caller);
   * `results` gets each item's outcome. A synchronous method of its own, so that the optimizing compiler builds
   * the per-device loop alone, not the append's whole async callback around it (40 to 120 ms a build, twice a
   * batch); and given its tips, so that it does not build appendTips and the journal reads into it as well (a build
   * of about 15 ms, against about 50 with them).
   */
  private roundRecords(
    items: readonly AttestationAppend[],
    round: readonly number[],
    tips: ReadonlyArray<Tip | undefined>,
    results: AppendResult[],
  ): { records: Array<Omit<AttestationRecord, 'a'>>; ders: Uint8Array[] } {
    const records: Array<Omit<AttestationRecord, 'a'>> = [];
    const ders: Uint8Array[] = [];
    let leaf = this.to.logStore.size();
    for (let k = 0; k < round.length; k++) {
      const i = round[k]!;
      const item = items[i]!;
      const tip = tips[k];
      const highS = highSRefusal(item);
      if (highS) {
        results[i] = highS;
      } else if (!tip) {
        results[i] = { serial: item.serial, ok: false, code: 'ERR_DEVICE_UNKNOWN', message: `device ${item.serial} is not in ${this.to.dir}` };
      } else if (tip.hash !== item.prev) {
        results[i] = {
          serial: item.serial,
          ok: false,
          code: 'ERR_FORK',
          message: `device ${item.serial}: its chain no longer ends where this attestation extends it (a second transfer from the same point)`,
        };
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
    const { journal, serials, tips, logStore, mark } = this.to;
    const { positions, end } = await journal.append(records.map((r, i) => encodeAttestationRecord(r, ders[i]!)));
    const entries: LogEntry[] = serials.batch(
      records.map((r) => r.s),
      () =>
        records.map((r, i) => {
          const pos = positions[i]!;
          serials.put(r.s, pos, true);
          tips.remember(r.s, { pos, length: r.q + 1, hash: r.h });
          return { leafIndex: r.l, attestation: ders[i]!, pos, seq: r.q };
        }),
    );
    logStore.append(entries);
    this.tipsEnd = end;
    mark.committed(end);
  }
}
