/**
 * Keys made on the line for devices: encrypted under a passphrase of their own (`--device-passphrase-file` or
 * CUSTODY_DEVICE_PASSPHRASE), never the CA's, since a device's agent must be able to open its key and must not
 * learn the factory CA's secret.
 *
 * Parameters chosen for batches: PBES2 with PBKDF2-HMAC-SHA256 at the same 600,000 iterations as CA keys, derived
 * once per batch (one salt for the batch, a fresh IV a key). A batch of 10,000 pays one half-second derivation, not
 * 10,000; each file still costs a guesser the full count, and sharing the salt gives nothing to one who has the
 * batch's files, since one passphrase opens them all anyway.
 */
import { readFileSync } from 'node:fs';
import { CustodyError } from '@custody/core/errors';
import { deriveKeyKDF, type KeyProtection } from '@custody/store/keys';
import { keyProtection } from './context.js';

/** The environment variable holding the device-key passphrase. */
export const DEVICE_PASSPHRASE_ENV = 'CUSTODY_DEVICE_PASSPHRASE';

/**
 * The device-key passphrase: the first line of `file`, else CUSTODY_DEVICE_PASSPHRASE, else undefined.
 * @throws ERR_IO (unreadable file), ERR_USAGE_PASSPHRASE (empty file)
 */
export function readDevicePassphrase(file: string | undefined): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CustodyError('ERR_IO', `${file}: cannot read device passphrase file (${(e as NodeJS.ErrnoException).code})`, { file });
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line.length === 0) throw new CustodyError('ERR_USAGE_PASSPHRASE', `${file}: the device passphrase file is empty`, { file });
    return line;
  }
  const env = process.env[DEVICE_PASSPHRASE_ENV];
  return env === undefined || env === '' ? undefined : env;
}

/**
 * How a batch protects the keys it makes for devices, derived once for the whole batch.
 * @throws ERR_USAGE_DEVICE_PASSPHRASE (none given, or the CA's own), ERR_USAGE_INSECURE (--no-encrypt alone)
 */
export function deviceKeyProtection(o: {
  devicePassphrase: string | undefined;
  caPassphrase: string | undefined;
  noEncrypt: boolean;
  insecure: boolean;
}): KeyProtection {
  if (o.noEncrypt) return keyProtection(undefined, true, o.insecure);
  if (o.devicePassphrase === undefined) {
    throw new CustodyError(
      'ERR_USAGE_DEVICE_PASSPHRASE',
      `keys made for devices are encrypted under their own passphrase: give --device-passphrase-file or set ${DEVICE_PASSPHRASE_ENV} (or --no-encrypt --insecure)`,
    );
  }
  if (o.devicePassphrase === o.caPassphrase) {
    throw new CustodyError(
      'ERR_USAGE_DEVICE_PASSPHRASE',
      "the device passphrase is the CA's passphrase: a device's agent would hold the factory CA's secret; choose another",
    );
  }
  return { passphrase: o.devicePassphrase, kdf: deriveKeyKDF(o.devicePassphrase) };
}
