/** What every command builds the same way: the store, the crypto provider, passphrases, the data folders. */
// Narrow entry points (@custody/core/x509, /errors, ...), not the package barrels: this module is on the path of
// the lean launcher (fast/launch.ts), where every module loaded shows in a factory station's per-device start time.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import type { CertificateTemplate } from '@custody/core/templates';
import { derOrPEM, readPEMBlocks } from '@custody/core/x509';
import { readCertificateInfo, type CertificateInfo } from '@custody/core/x509';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { NodeCryptoProvider } from '@custody/core/node';
import { initStoreAt, openStoreAt, type StoreOptions } from '@custody/store/registry';
import { readPrivateKeyFile, readPrivateKeyFileAsync, type KeyProtection } from '@custody/store/keys';
import type { KeyRef, Store } from '@custody/store/registry';
import type { LockWait } from '@custody/store/lock';
import { openTokenKey } from './pkcs11/token-key.js';
import { lockTimeoutMs, lockWaitLine } from './lock-wait.js';
import { readInputFile } from './input-file.js';

export { INPUT_LIMITS, readInputFile, type InputKind } from './input-file.js';

/** The repository's data folders (certs-templates/, workflows/), found from this file's location. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const provider = new NodeCryptoProvider();

/**
 * Store options: the key folder of a PostgreSQL store, from `--keys` or CUSTODY_KEYS (an embedded store keeps its
 * keys in its own folder and ignores it); for an embedded store, how long a writer waits for the lock
 * (CUSTODY_LOCK_TIMEOUT) and a line on stderr when it has to wait.
 * @throws ERR_USAGE_LOCK_TIMEOUT
 */
export function storeOptions(keys?: string): StoreOptions {
  const keyDir = keys ?? process.env.CUSTODY_KEYS;
  const lock = { lockTimeoutMs: lockTimeoutMs(), onLockWait: (w: LockWait) => void process.stderr.write(`${lockWaitLine(w)}\n`) };
  return keyDir ? { keyDir, ...lock } : lock;
}

/**
 * Opens the store a `--store` value names: a folder, or a postgres:// URL (PostgreSQL, loaded only then).
 * @throws see `openStoreAt`; a PostgreSQL store opened without `keys` (or CUSTODY_KEYS) refuses key operations
 *   with ERR_USAGE_STORE_KEYS
 */
export async function openStore(location: string, keys?: string): Promise<Store> {
  return openStoreAt(location, storeOptions(keys));
}

/**
 * Creates the store a `--store` value names (see `initStoreAt`).
 * @throws ERR_CONFLICT_STORE_EXISTS, ERR_STORE_VERSION, ERR_STORE_UNAVAILABLE, ERR_STORE_IO
 */
export async function initStore(location: string, now: Date, keys?: string): Promise<Store> {
  return initStoreAt(location, now, storeOptions(keys));
}

/**
 * The passphrase from --passphrase-file or CUSTODY_PASSPHRASE, if any.
 * @throws ERR_IO when the file cannot be read; ERR_INPUT_NOT_FILE, ERR_INPUT_TOO_LARGE (see `readInputFile`);
 *   ERR_USAGE_PASSPHRASE when its first line is empty
 */
export function readPassphrase(file: string | undefined): string | undefined {
  if (file) {
    let text: string;
    try {
      text = readInputFile(file, 'passphrase').toString('utf8');
    } catch (e) {
      // ERR_IO as before for a file that cannot be read; a FIFO or an oversized file is bad input like any other.
      if (e instanceof CustodyError && e.code === 'ERR_INPUT_READ') {
        throw new CustodyError('ERR_IO', `${file}: cannot read passphrase file (${(e.cause as NodeJS.ErrnoException).code})`, { file });
      }
      throw e;
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line.length === 0) throw new CustodyError('ERR_USAGE_PASSPHRASE', `${file}: the passphrase file is empty`, { file });
    return line;
  }
  const env = process.env.CUSTODY_PASSPHRASE;
  return env === undefined || env === '' ? undefined : env;
}

/**
 * How to protect a new key: the passphrase, or nothing when asked twice (`--no-encrypt --insecure`), with a
 * warning on stderr.
 * @throws ERR_USAGE_INSECURE (--no-encrypt alone), ERR_USAGE_PASSPHRASE (no passphrase)
 */
export function keyProtection(passphrase: string | undefined, noEncrypt: boolean, insecure = false): KeyProtection {
  if (noEncrypt) {
    if (!insecure) throw new CustodyError('ERR_USAGE_INSECURE', '--no-encrypt writes private keys in the clear: give --no-encrypt --insecure to mean it');
    // A warning, not an error: the operator asked twice. Printed here so that every command that writes keys says it.
    process.stderr.write('custody: warning: private keys are written unencrypted (--no-encrypt --insecure): anyone who can read the files holds the keys\n');
    return { unencrypted: true };
  }
  if (passphrase === undefined) {
    throw new CustodyError(
      'ERR_USAGE_PASSPHRASE',
      'private keys are encrypted: give --passphrase-file, set CUSTODY_PASSPHRASE, or pass --no-encrypt --insecure',
    );
  }
  return { passphrase };
}

/**
 * Loads a key a store record refers to: a key file, or a key in a PKCS#11 token (which then signs there; its
 * PIN from the URI's pin-source file or CUSTODY_PKCS11_PIN, its module from module-path or
 * CUSTODY_PKCS11_MODULE). With `expectSpki` (the record's certificate's key), a token key must match it.
 * @throws ERR_KEY_PASSPHRASE and the key file's read errors; ERR_PKCS11_* (see `openTokenKey`)
 */
export function loadKey(store: Store, ref: KeyRef, passphrase: string | undefined, expectSpki?: Uint8Array): PrivateKeyHandle {
  if (ref.type === 'pkcs11') return openTokenKey(ref.uri, { readFile: (file) => readInputFile(file, 'pin'), ...(expectSpki ? { expectSpki } : {}) });
  // Key paths are relative to the store's key folder (a PostgreSQL store's location is a URL).
  return readPrivateKeyFile(resolve(store.keyDir, ref.path), passphrase);
}

/**
 * `loadKey`, with a key file's passphrase derivation off this thread (`readPrivateKeyFileAsync`): two keys
 * loaded side by side derive at once. A token's key opens as `loadKey` opens it.
 * @throws as `loadKey`
 */
export async function loadKeyAsync(store: Store, ref: KeyRef, passphrase: string | undefined, expectSpki?: Uint8Array): Promise<PrivateKeyHandle> {
  if (ref.type === 'pkcs11') return loadKey(store, ref, passphrase, expectSpki);
  return readPrivateKeyFileAsync(resolve(store.keyDir, ref.path), passphrase);
}

/** The templates folder: --templates, CUSTODY_TEMPLATES, or the repository's certs-templates/. */
export function templatesDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.CUSTODY_TEMPLATES ?? join(REPO_ROOT, 'certs-templates'));
}

/**
 * Loads one template by name (or by path when the value ends in .yaml). With `cacheDir`, a template already
 * validated is read back from `<cacheDir>/template-<sha256 of its text>.json`, so that a station starting once
 * per device does not load the YAML parser every time; any edit of the file changes the hash.
 */
export async function loadTemplate(dir: string, nameOrPath: string, cacheDir?: string): Promise<CertificateTemplate> {
  return (await loadTemplateCached(dir, nameOrPath, cacheDir)).template;
}

/**
 * `loadTemplate`, but a template newly parsed is cached only when the caller calls `remember()`: a command
 * that then refuses its input must leave the store as it found it.
 */
export async function loadTemplateCached(dir: string, nameOrPath: string, cacheDir?: string): Promise<{ template: CertificateTemplate; remember(): void }> {
  const file = /\.ya?ml$/.test(nameOrPath) ? resolve(nameOrPath) : join(dir, `${nameOrPath}.yaml`);
  let text: string;
  try {
    text = readInputFile(file, 'template').toString('utf8');
  } catch (e) {
    if (!(e instanceof CustodyError) || e.code !== 'ERR_INPUT_READ') throw e;
    throw new CustodyError('ERR_TEMPLATE_MISSING', `${file}: no such template (${(e.cause as NodeJS.ErrnoException).code})`, { file });
  }
  const cached = cacheDir && join(cacheDir, `template-${createHash('sha256').update(text).digest('hex')}.json`);
  if (cached && existsSync(cached)) return { template: JSON.parse(readFileSync(cached, 'utf8')) as CertificateTemplate, remember: () => undefined };
  const { parseTemplate } = await import('@custody/core/templates');
  const template = parseTemplate(text, file);
  const remember = () => {
    if (!cached) return;
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(cached, JSON.stringify(template));
  };
  return { template, remember };
}

/** The cache folder of an embedded store (none for a database URL). */
export function storeCacheDir(location: string): string | undefined {
  return /^postgres(ql)?:\/\//.test(location) || !existsSync(join(location, 'store.json')) ? undefined : join(location, 'cache');
}

/** Every template in a folder; the first invalid one is an error naming it. */
export async function loadTemplates(dir: string): Promise<CertificateTemplate[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    // A missing or unreadable --templates folder is the user's to fix, not an internal error.
    throw new CustodyError('ERR_USAGE_TEMPLATES', `${dir}: not a readable templates folder (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`, {
      cause: e,
      file: dir,
    });
  }
  const files = names.filter((f) => /\.ya?ml$/.test(f)).sort();
  return Promise.all(files.map((f) => loadTemplate(dir, join(dir, f))));
}

/**
 * A CRL file, DER or PEM ("X509 CRL").
 * @throws ERR_INPUT_READ, ERR_INPUT_NOT_FILE, ERR_INPUT_TOO_LARGE (see `readInputFile`); ERR_CRL_PARSE naming the
 *   file when it holds no CRL
 */
export function readCRLFile(file: string): Uint8Array {
  const bytes = readInputFile(file, 'crl');
  if (bytes[0] === 0x30) return new Uint8Array(bytes);
  let blocks: Uint8Array[];
  try {
    blocks = readPEMBlocks(bytes.toString('utf8'), ['X509 CRL']);
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(file) : e;
  }
  if (blocks.length === 0) throw new CustodyError('ERR_CRL_PARSE', `${file}: not a CRL (DER or PEM "X509 CRL")`, { file });
  return blocks[0]!;
}

/**
 * A certificate file, PEM or DER.
 * @throws ERR_INPUT_READ, ERR_INPUT_NOT_FILE, ERR_INPUT_TOO_LARGE (see `readInputFile`); ERR_PEM / ERR_CERT_PARSE
 *   naming the file
 */
export function readCertificateFile(file: string): { der: Uint8Array; info: CertificateInfo } {
  const bytes = readInputFile(file, 'certificate');
  try {
    const der = derOrPEM(new Uint8Array(bytes), ['CERTIFICATE']);
    return { der, info: readCertificateInfo(der) };
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(file) : e;
  }
}

/** The clock, read once per command (core takes `now` as a parameter). */
export function now(): Date {
  return new Date();
}
