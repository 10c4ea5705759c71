/**
 * Private key files: PKCS#8 PEM, encrypted under a passphrase unless the caller explicitly asks otherwise,
 * written once with mode 0600. A wrong passphrase is a named error, never a crash.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { CustodyError } from '@custody/core/errors';
import { nodeKeyObject, nodePrivateKeyHandle } from '@custody/core/node';
import type { PrivateKeyHandle } from '@custody/core/crypto';

/** How a key is protected at rest: a passphrase, or (explicitly) nothing. */
export type KeyProtection = { passphrase: string } | { unencrypted: true };

/** PEM text of a private key, encrypted (PBES2, AES-256-CBC) unless `protection` says otherwise. */
export function encodePrivateKey(key: PrivateKeyHandle, protection: KeyProtection): string {
  const ko = nodeKeyObject(key);
  if ('passphrase' in protection) {
    if (protection.passphrase.length === 0) throw new CustodyError('ERR_USAGE_PASSPHRASE', 'the passphrase is empty');
    return ko.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: protection.passphrase }) as string;
  }
  return ko.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/**
 * Writes a new key file with mode 0600; refuses to replace an existing file.
 * @throws ERR_IO_KEY_EXISTS, ERR_IO
 */
export function writePrivateKeyFile(path: string, key: PrivateKeyHandle, protection: KeyProtection): void {
  const pem = encodePrivateKey(key, protection);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CustodyError('ERR_IO_KEY_EXISTS', `${path}: a key file is already there; refusing to overwrite it`, { file: path });
    throw new CustodyError('ERR_IO', `${path}: cannot create key file (${code})`, { file: path, cause: e });
  }
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a key file. An encrypted key needs the passphrase; a wrong one is ERR_KEY_PASSPHRASE.
 * @throws ERR_KEY_PASSPHRASE, ERR_KEY_PARSE, ERR_IO
 */
export function readPrivateKeyFile(path: string, passphrase: string | undefined): PrivateKeyHandle {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CustodyError('ERR_IO', `${path}: cannot read key file (${(e as NodeJS.ErrnoException).code})`, { file: path, cause: e });
  }
  return decodePrivateKey(pem, passphrase, path);
}

/** Decodes PEM key text (see `readPrivateKeyFile`). */
export function decodePrivateKey(pem: string, passphrase: string | undefined, name: string): PrivateKeyHandle {
  const encrypted = pem.includes('BEGIN ENCRYPTED PRIVATE KEY');
  if (!encrypted && !pem.includes('BEGIN PRIVATE KEY') && !pem.includes('BEGIN EC PRIVATE KEY')) {
    throw new CustodyError('ERR_KEY_PARSE', `${name}: not a PEM private key`, { file: name });
  }
  if (encrypted && passphrase === undefined) {
    throw new CustodyError('ERR_KEY_PASSPHRASE', `${name}: the key is encrypted; give --passphrase-file or set CUSTODY_PASSPHRASE`, { file: name });
  }
  let ko: KeyObject;
  try {
    ko = createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase: passphrase! } : { key: pem, format: 'pem' });
  } catch (e) {
    if (encrypted) throw new CustodyError('ERR_KEY_PASSPHRASE', `${name}: wrong passphrase, or the key file is damaged`, { file: name, cause: e });
    throw new CustodyError('ERR_KEY_PARSE', `${name}: the private key cannot be read`, { file: name, cause: e });
  }
  return nodePrivateKeyHandle(ko);
}
