/** What every command builds the same way: the store, the crypto provider, passphrases, the data folders. */
// Deep imports, not the barrels: this module is on the path of the lean launcher (fast/launch.ts), where
// every module loaded shows in a factory station's per-device start time.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import type { CertificateTemplate } from '@custody/core/templates/template';
import { derOrPEM } from '@custody/core/x509/pem';
import { readCertificateInfo, type CertificateInfo } from '@custody/core/x509/certificate-info';
import type { PrivateKeyHandle } from '@custody/core/crypto/provider';
import { NodeCryptoProvider } from '@custody/core/node';
import { EmbeddedStore } from '@custody/store/embedded-store';
import { readPrivateKeyFile, type KeyProtection } from '@custody/store/keys';
import type { KeyRef, Store } from '@custody/store/types';

/** The repository's data folders (certs-templates/, workflows/), found from this file's location. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const provider = new NodeCryptoProvider();

/** Store options from the environment: where a PostgreSQL store's sites keep their key files. */
export function storeOptions(): { keyDir?: string } {
  return process.env.CUSTODY_KEYS ? { keyDir: process.env.CUSTODY_KEYS } : {};
}

/** Opens the store a `--store` value names: a folder, or a postgres:// URL (PostgreSQL, loaded only then). */
export async function openStore(location: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(location)) {
    const { PgStore } = await import('@custody/store/postgres/pg-store');
    return PgStore.open(location, storeOptions());
  }
  return EmbeddedStore.open(location);
}

/** The passphrase from --passphrase-file or CUSTODY_PASSPHRASE, if any. */
export function readPassphrase(file: string | undefined): string | undefined {
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CustodyError('ERR_IO', `${file}: cannot read passphrase file (${(e as NodeJS.ErrnoException).code})`, { file });
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line.length === 0) throw new CustodyError('ERR_USAGE_PASSPHRASE', `${file}: the passphrase file is empty`, { file });
    return line;
  }
  const env = process.env.CUSTODY_PASSPHRASE;
  return env === undefined || env === '' ? undefined : env;
}

/** How to protect a new key: the passphrase, or nothing when --no-encrypt was given explicitly. */
export function keyProtection(passphrase: string | undefined, noEncrypt: boolean): KeyProtection {
  if (noEncrypt) return { unencrypted: true };
  if (passphrase === undefined) {
    throw new CustodyError('ERR_USAGE_PASSPHRASE', 'private keys are encrypted: give --passphrase-file, set CUSTODY_PASSPHRASE, or pass --no-encrypt');
  }
  return { passphrase };
}

/** Loads a key a store record refers to. */
export function loadKey(store: Store, ref: KeyRef, passphrase: string | undefined): PrivateKeyHandle {
  if (ref.type !== 'file') throw new CustodyError('ERR_USAGE_PKCS11', `PKCS#11 keys (${ref.uri}) are not supported by this build`);
  // Key paths are relative to the store's key folder (a PostgreSQL store's location is a URL).
  return readPrivateKeyFile(resolve(store.keyDir, ref.path), passphrase);
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
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CustodyError('ERR_TEMPLATE_MISSING', `${file}: no such template (${(e as NodeJS.ErrnoException).code})`, { file });
  }
  const cached = cacheDir && join(cacheDir, `template-${createHash('sha256').update(text).digest('hex')}.json`);
  if (cached && existsSync(cached)) return { template: JSON.parse(readFileSync(cached, 'utf8')) as CertificateTemplate, remember: () => undefined };
  const { parseTemplate } = await import('@custody/core/templates/parse-template');
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
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  return Promise.all(files.map((f) => loadTemplate(dir, join(dir, f))));
}

/**
 * The bytes of an input file the user named.
 * @throws ERR_INPUT_READ naming the file (bad input, exit 3)
 */
export function readInputFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CustodyError('ERR_INPUT_READ', `${file}: cannot read (${(e as NodeJS.ErrnoException).code})`, { file });
  }
}

/**
 * A CRL file, DER or PEM ("X509 CRL").
 * @throws ERR_INPUT_READ; ERR_CRL_PARSE naming the file when it holds no CRL
 */
export function readCRLFile(file: string): Uint8Array {
  const bytes = readInputFile(file);
  if (bytes[0] === 0x30) return new Uint8Array(bytes);
  const m = bytes.toString('utf8').match(/-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/);
  if (!m) throw new CustodyError('ERR_CRL_PARSE', `${file}: not a CRL (DER or PEM "X509 CRL")`, { file });
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/**
 * A certificate file, PEM or DER.
 * @throws ERR_INPUT_READ; ERR_PEM / ERR_CERT_PARSE naming the file
 */
export function readCertificateFile(file: string): { der: Uint8Array; info: CertificateInfo } {
  const bytes = readInputFile(file);
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
