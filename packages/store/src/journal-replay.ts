/**
 * Replay of the journal records past the applied-up-to watermark (a crashed writer's tail, or another process's
 * commits): each record applied to the indexes again, which is idempotent, and the log leaves the records add.
 */
import type { DeviceIndexes } from './device-indexes.js';
import { logEntriesOf, storedBytes } from './device-records.js';
import type { DeviceDoc, JournalRecord } from './journal-record.js';
import type { RecordPosition } from './hash-index.js';
import type { LogEntry } from './log-store.js';

/**
 * Points the indexes at `records` (device documents and attestation records; other records are skipped).
 * @param logSize the log's size: leaves below it are already in the log
 * @returns the device documents replayed, and the log leaves to append, in order
 */
export function replayRecords(
  indexes: DeviceIndexes,
  records: ReadonlyArray<{ record: JournalRecord; pos: RecordPosition }>,
  logSize: number,
): { docs: DeviceDoc[]; leaves: LogEntry[] } {
  const docs: DeviceDoc[] = [];
  const leaves: LogEntry[] = [];
  indexes.batch(
    records.flatMap(({ record }) => (record.t === 'device' ? [record.d] : record.t === 'att' ? [{ serial: record.s }] : [])),
    () => {
      for (const { record, pos } of records) {
        if (record.t === 'device') {
          indexes.put(record.d, pos, true);
          docs.push(record.d);
          leaves.push(...logEntriesOf(record.d, pos, logSize));
        } else if (record.t === 'att') {
          indexes.serials.put(record.s, pos, true);
          if (record.l >= logSize) leaves.push({ leafIndex: record.l, attestation: storedBytes(record.a), pos, seq: record.q });
        }
      }
    },
  );
  return { docs, leaves };
}
