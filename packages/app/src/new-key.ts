/**
 * The one way custody makes a private key for a CA, a party, a signer or the log: in memory then written as an
 * encrypted key file, or in a PKCS#11 token (an existing key, or one generated there), with the reference the
 * store records for it.
 */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import type { CurveName, PrivateKeyHandle } from '@custody/core/crypto';
import { isPKCS11URI } from '@custody/core/keys';
import { writePrivateKeyFile, type KeyProtection } from '@custody/store/keys';
import type { KeyRef, Store } from '@custody/store/registry';
import { provider, readInputFile } from './context.js';
import { generateTokenKey } from './pkcs11/generate-key.js';
import { openTokenKey } from './pkcs11/token-key.js';

/** A key in a PKCS#11 token instead of a new key file: one the URI names (`generate` false), or one made there. */
export interface TokenKeyChoice {
  uri: string;
  generate: boolean;
}

/**
 * The token key `--key URI` (an existing key) or `--key-store URI` (generate there) asks for, if any.
 * @throws ERR_USAGE_KEY when the value is not a pkcs11: URI (key files are made by custody, not given)
 */
export function tokenKeyChoice(key: string | undefined, keyStore: string | undefined): TokenKeyChoice | undefined {
  if (key !== undefined && keyStore !== undefined)
    throw new CustodyError('ERR_USAGE_FLAGS', '--key and --key-store: give one (an existing token key, or a new one made in the token)');
  const [flag, uri] = key !== undefined ? ['--key', key] : keyStore !== undefined ? ['--key-store', keyStore] : [];
  if (uri === undefined) return undefined;
  if (!isPKCS11URI(uri)) throw new CustodyError('ERR_USAGE_KEY', `${flag} takes a pkcs11: URI (RFC 7512), such as pkcs11:token=factory;object=acme-issuing`);
  return { uri, generate: flag === '--key-store' };
}

/** A new key's private half, its public key, and, for a token key, its reference (with what the token says of it). */
export interface NewKey {
  key: PrivateKeyHandle;
  spki: Uint8Array;
  ref?: KeyRef;
}

/**
 * A subject's new key on `curve` (`wants` names who asks for that curve, for messages): in memory, to be written
 * as a key file by `recordKey`, or in a token (an existing key, or one generated there). Every key custody makes
 * for a CA, a party, a signer or the log comes from here, so a `pkcs11:` URI works for all of them alike; a
 * token key's reference records its protection as the token reports it (`openTokenKey`), not as asked for.
 * @throws ERR_KEY_ALGORITHM (the token key is on another curve), ERR_PKCS11_* (see `openTokenKey`,
 *   `generateTokenKey`)
 */
export async function makeKey(curve: CurveName, token: TokenKeyChoice | undefined, wants: string): Promise<NewKey> {
  if (!token) {
    const k = await provider.generateKeyPair(curve);
    return { key: k.privateKey, spki: k.publicKey.spki };
  }
  const readFile = (file: string) => readInputFile(file, 'pin');
  const { uri, key } = token.generate ? generateTokenKey(token.uri, { curve, readFile }) : { uri: undefined, key: openTokenKey(token.uri, { readFile }) };
  if (key.curve !== curve) throw new CustodyError('ERR_KEY_ALGORITHM', `${key.name}: a ${key.curve} key, but ${wants} wants ${curve}`);
  return { key, spki: key.spki, ref: { type: 'pkcs11', uri: uri ?? key.uri, protection: { ...key.protection } } };
}

/**
 * The reference to record for a new key: the token key's, or a new key file `<name>.key.pem` in the store's key
 * folder, written under `protection` (and recorded as encrypted or not).
 * @throws ERR_IO_KEY_EXISTS and the key writer's errors
 */
export function recordKey(store: Store, name: string, subject: NewKey, protection: KeyProtection | undefined): KeyRef {
  if (subject.ref) return subject.ref;
  if (!protection) throw new TypeError('a new key file needs `protection`');
  mkdirSync(store.keyDir, { recursive: true, mode: 0o700 });
  const keyPath = join(store.keyDir, `${name}.key.pem`);
  writePrivateKeyFile(keyPath, subject.key, protection);
  return { type: 'file', path: relative(store.keyDir, keyPath), encrypted: !('unencrypted' in protection) };
}
