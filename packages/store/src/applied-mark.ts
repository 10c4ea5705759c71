/**
 * The embedded store's replay watermark: where the journal's records are known to be applied to the derived
 * files (indexes, log, lots). It only shortens replay (replaying an applied record changes nothing), so it is
 * written every few commits and on close rather than after each one: a station committing one device at a time
 * saves a file write and a rename per device.
 */
import type { Journal, JournalPosition } from './journal.js';

/** Commits between two writes of the replay watermark. */
const WATERMARK_EVERY = 64;

/** The watermark of one store's journal, as this process moves it. */
export class AppliedMark {
  /** The end of this process's own commits since the watermark was last written. */
  private unmarked: JournalPosition | undefined;
  private commitsSinceMark = 0;

  constructor(private readonly journal: Journal) {}

  /** Where replay starts: after this process's own unmarked commits, else at the written watermark. */
  replayFrom(): JournalPosition {
    return this.unmarked ?? this.journal.readWatermark();
  }

  /** True when commits of this process are applied but not yet marked (close writes them under the lock). */
  get pending(): boolean {
    return this.unmarked !== undefined;
  }

  /** Notes a commit applied up to `end`; writes the watermark once every few commits. */
  committed(end: JournalPosition): void {
    this.unmarked = end;
    if (++this.commitsSinceMark >= WATERMARK_EVERY) this.write();
  }

  /** Notes a replay applied up to `end`, and writes the watermark at once. */
  replayed(end: JournalPosition): void {
    this.unmarked = end;
    this.write();
  }

  /** Writes the watermark, when there is anything to mark. Call with the store lock held. */
  write(): void {
    if (this.unmarked) this.journal.writeWatermark(this.unmarked);
    this.unmarked = undefined;
    this.commitsSinceMark = 0;
  }
}
