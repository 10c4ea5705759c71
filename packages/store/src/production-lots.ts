/**
 * Production lots of the embedded store: `lots/<lot>` lists the serials of one lot, one a line, appended per
 * batch. A lot file is an index derived from the journal, so replay may append a serial twice; reads drop
 * the repeats.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceDoc } from './journal-record.js';

const LOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True for a lot name that is safe as a file name (both stores list no lot named otherwise). */
export function isLotName(lot: string): boolean {
  return LOT_NAME.test(lot);
}

/** Appends the serial of each of `docs` to the file of its lot in `dir`, one append per lot. */
export function appendLots(dir: string, docs: readonly DeviceDoc[]): void {
  const byLot = new Map<string, string[]>();
  for (const d of docs) if (d.lot !== undefined && isLotName(d.lot)) byLot.set(d.lot, [...(byLot.get(d.lot) ?? []), d.serial]);
  for (const [lot, serials] of byLot) appendFileSync(join(dir, lot), serials.join('\n') + '\n');
}

/** Serials of the lot `lot` in `dir`, in the order they were recorded, each once. */
export function listLot(dir: string, lot: string): string[] {
  if (!isLotName(lot)) return [];
  const file = join(dir, lot);
  if (!existsSync(file)) return [];
  return [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))];
}
