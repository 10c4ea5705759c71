/**
 * `devices export-certs`: the IDevID certificates of recorded devices, written again from the store (after a run
 * whose files were lost once the devices were recorded: a full disk, a removed folder).
 */
import { CustodyError } from '@custody/core/errors';
import { encodePEM } from '@custody/core/x509';
import type { Store } from '@custody/store/registry';
import type { DeviceRecord } from '@custody/core/ports';
import { commitOutputs, discardOutputs, prepareFolder, prepareOutputsIn, writeOutputs } from './outputs.js';

/**
 * Writes `<serial>.pem` into `out` for each device, all or none: every file is checked and written under a
 * temporary name before any is moved into place.
 * @throws ERR_DEVICE_UNKNOWN, ERR_IO_NO_FOLDER, ERR_IO_EXISTS (unless `force`), ERR_IO_WRITE
 */
export async function exportCertificates(
  store: Store,
  serials: readonly string[],
  out: string,
  o: { force?: boolean } = {},
): Promise<Array<{ serial: string; file: string }>> {
  const devices: DeviceRecord[] = [];
  for (const serial of serials) {
    const d = await store.getDevice(serial);
    if (!d) throw new CustodyError('ERR_DEVICE_UNKNOWN', `device ${serial} is not in ${store.location}`);
    devices.push(d);
  }
  const folder = prepareFolder(out);
  const files = prepareOutputsIn(
    out,
    devices.map((d) => `${d.serial}.pem`),
    { force: o.force },
  );
  try {
    await writeOutputs(files.map((f, i) => [f, encodePEM(devices[i]!.certificate, 'CERTIFICATE')] as const));
    commitOutputs(files);
  } catch (e) {
    discardOutputs(files, folder);
    throw e;
  }
  return devices.map((d, i) => ({ serial: d.serial, file: files[i]!.path }));
}
