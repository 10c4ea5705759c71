/**
 * The reference device agent's key: a key file (PKCS#8 PEM, encrypted or not) or a key in a PKCS#11 token, such
 * as a TPM 2.0 through tpm2-pkcs11, which then signs there; and the IDevID request a factory line asks the device
 * for (`agent csr`), signed by that key so the line gets the key's proof of possession and never the key.
 */
import { CustodyError } from '@custody/core/errors';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { isPKCS11URI } from '@custody/core/keys';
import { createCSR, encodePEM } from '@custody/core/x509';
import { toHex } from '@custody/core/util';
import { decodePrivateKey } from '@custody/store/keys';
import { provider, readInputFile } from './context.js';
import { openTokenKey } from './pkcs11/token-key.js';
import { writeOutputFile } from './outputs.js';

/**
 * The device key `--key` names: a `pkcs11:` URI (the key stays in its token; PIN and module as for every token
 * key) or a key file.
 * @throws ERR_PKCS11_* (see `openTokenKey`); ERR_KEY_PASSPHRASE, ERR_KEY_PARSE and the input file errors
 */
export function openDeviceKey(key: string, passphrase: string | undefined): PrivateKeyHandle {
  if (isPKCS11URI(key)) return openTokenKey(key, { readFile: (file) => readInputFile(file, 'pin') });
  return decodePrivateKey(readInputFile(key, 'key').toString('utf8'), passphrase, key);
}

/** What a PrintableString holds (X.520 serialNumber, RFC 5280 appendix A), at most 64 characters. */
const SERIAL = /^[A-Za-z0-9 '()+,\-./:=?]{1,64}$/;

export interface DeviceCSR {
  /** The request, written as PEM. */
  file: string;
  serial: string;
  /** Hex SHA-256 of the key's SubjectPublicKeyInfo: the key the IDevID will certify. */
  spkiSha256: string;
}

/**
 * Writes the device's IDevID request: subject serialNumber `serial`, the key's public key, signed by the key (in
 * its token for a `pkcs11:` key). Nothing is written when the key cannot be opened or cannot sign.
 * @throws ERR_USAGE_SERIAL (not a PrintableString of 1 to 64 characters), the errors of `openDeviceKey`,
 *   ERR_PKCS11_DEVICE, ERR_IO_NO_FOLDER, ERR_IO_EXISTS (unless `force`), ERR_IO_WRITE
 */
export async function writeDeviceCSR(o: { key: string; serial: string; out: string; force?: boolean; passphrase: string | undefined }): Promise<DeviceCSR> {
  if (!SERIAL.test(o.serial))
    throw new CustodyError('ERR_USAGE_SERIAL', `--serial ${JSON.stringify(o.serial.slice(0, 40))}: 1 to 64 letters, digits, spaces or ' ( ) + , - . / : = ?`);
  const key = openDeviceKey(o.key, o.passphrase);
  const csr = await createCSR([['serialNumber', o.serial]], key, provider);
  writeOutputFile(o.out, encodePEM(csr, 'CERTIFICATE REQUEST'), { force: o.force });
  return { file: o.out, serial: o.serial, spkiSha256: toHex(await provider.digest('SHA-256', key.spki)) };
}
