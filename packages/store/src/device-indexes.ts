/**
 * The embedded store's three hash indexes of devices, under `index/`: device serial to the device's newest
 * journal record, and public key hash and certificate serial to its document. The last two only answer
 * whether a key or certificate serial is taken, so a later version of a device leaves them as they are.
 */
import { join } from 'node:path';
import type { Conflict } from '@custody/core/ports';
import type { DeviceDoc } from './journal-record.js';
import { HashIndex, type RecordPosition } from './hash-index.js';

/** The device indexes of one store folder, each a {@link HashIndex} file. */
export class DeviceIndexes {
  /** Device serial to the device's newest record (`serials.idx`). */
  readonly serials: HashIndex;
  /** Hex SHA-256 of the device's public key to its document (`keys.idx`). */
  readonly keys: HashIndex;
  /** Certificate serial to the device's document (`certs.idx`). */
  readonly certSerials: HashIndex;

  /** Opens the indexes in `dir` (the store's `index/` folder); nothing is read until used. */
  constructor(dir: string) {
    this.serials = new HashIndex(join(dir, 'serials.idx'));
    this.keys = new HashIndex(join(dir, 'keys.idx'), true);
    this.certSerials = new HashIndex(join(dir, 'certs.idx'), true);
  }

  /** Creates the three empty index files in `dir`. */
  static create(dir: string): void {
    for (const idx of ['serials', 'keys', 'certs']) HashIndex.create(join(dir, `${idx}.idx`));
  }

  /** Re-reads each index's header, reopening a file another writer replaced. */
  refresh(): void {
    for (const idx of [this.serials, this.keys, this.certSerials]) idx.refresh();
  }

  /**
   * Runs the index writes of `docs` (device documents, and the serials of attestation records), each index's
   * slots read ahead and written back in a few long runs, with one header count write before and one after.
   */
  batch(docs: ReadonlyArray<DeviceDoc | { serial: string }>, write: () => void): void {
    const all = [this.serials, this.keys, this.certSerials];
    for (const idx of all) idx.reserve(docs.length);
    const full = docs.filter((d): d is DeviceDoc => 'certSerial' in d);
    this.serials.batch(
      docs.map((d) => d.serial),
      () =>
        this.keys.batch(
          full.map((d) => d.spkiSha256),
          () =>
            this.certSerials.batch(
              full.map((d) => d.certSerial),
              write,
            ),
        ),
    );
    for (const idx of all) idx.settle();
  }

  /**
   * Points the indexes at a device's newest record. Only the serial index is read for records; the key and
   * certificate-serial indexes answer "is it taken", so a later version of a device (a handoff) leaves them
   * alone unless replay is rebuilding them.
   */
  put(d: DeviceDoc, pos: RecordPosition, replace: boolean, newVersion = false): void {
    this.serials.put(d.serial, pos, replace);
    if (newVersion) return;
    this.keys.put(d.spkiSha256, pos, replace);
    this.certSerials.put(d.certSerial, pos, replace);
  }

  /** Which of the candidates' serials, keys and certificate serials are already recorded. */
  findConflicts(candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>): Conflict[] {
    const out: Conflict[] = [];
    this.refresh();
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

  /** Closes the three index files. */
  close(): void {
    for (const idx of [this.serials, this.keys, this.certSerials]) idx.close();
  }
}
