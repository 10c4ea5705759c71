/**
 * A device learnt from a bundle, recorded in the embedded store (under its writer lock): new, or a longer chain of
 * a known device, or refused as a fork with the disagreeing record kept as evidence (fork-evidence.ts).
 */
import { join } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import type { Conflict, DeviceRecord } from '@custody/core/ports';
import { deviceTip, toDoc } from './device-records.js';
import { keepEvidence } from './fork-evidence.js';
import type { DeviceDoc, DeviceTip } from './journal-record.js';

/** What an import reads and writes through: the store's folder, a device's current document, its conflict lookup and document write. */
export interface ImportTarget {
  dir: string;
  current(serial: string): DeviceDoc | undefined;
  conflicts(docs: DeviceDoc[]): Promise<Conflict[]>;
  write(docs: readonly DeviceDoc[], tips: readonly DeviceTip[], fresh: boolean): Promise<void>;
}

/**
 * Records `device` (as `EmbeddedStore.importDevice` documents); call with the writer lock held.
 * @throws ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL, ERR_CONFLICT_DEVICE, ERR_FORK
 */
export async function importDeviceLocked(device: DeviceRecord, to: ImportTarget): Promise<'added' | 'extended' | 'unchanged'> {
  const incoming = toDoc(device);
  const current = to.current(device.serial);
  if (!current) {
    const conflicts = await to.conflicts([incoming]);
    if (conflicts.length > 0)
      throw new CustodyError(
        conflicts[0]!.kind === 'key' ? 'ERR_DUPLICATE_KEY' : 'ERR_DUPLICATE_CERT_SERIAL',
        `${to.dir}: device ${device.serial}: its ${conflicts[0]!.kind === 'key' ? 'public key' : 'certificate serial'} is already recorded for another device`,
      );
    await to.write([incoming], [deviceTip(device, incoming)], true);
    return 'added';
  }
  if (current.certificate !== incoming.certificate)
    throw new CustodyError('ERR_CONFLICT_DEVICE', `device ${device.serial}: the store holds a different certificate for this serial`);
  const a = current.attestations;
  const b = incoming.attestations;
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    if (a[i] !== b[i]) {
      const reason = `device ${device.serial}: attestation ${i} differs from the one recorded (the chain forked)`;
      const file = keepEvidence(join(to.dir, 'evidence'), incoming, i, reason);
      throw new CustodyError('ERR_FORK', `${reason}; the disagreeing record is kept in ${file}`);
    }
  }
  if (b.length <= a.length) return 'unchanged';
  await to.write([{ ...current, attestations: b, ...(incoming.head ? { head: incoming.head } : {}) }], [deviceTip(device, incoming)], false);
  return 'extended';
}
