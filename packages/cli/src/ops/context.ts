/** What every command builds the same way: the store, the crypto provider, passphrases, the data folders. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { CustodyError, parseTemplate, type CertificateTemplate } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { EmbeddedStore, readPrivateKeyFile, type KeyProtection, type KeyRef, type Store } from '@custody/store';
import type { PrivateKeyHandle } from '@custody/core';

/** The repository's data folders (certs-templates/, workflows/), found from this file's location. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const provider = new NodeCryptoProvider();

/** Opens the store a `--store` value names. */
export async function openStore(location: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    throw new CustodyError('ERR_USAGE_STORE', 'the PostgreSQL store is not available in this build yet');
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
  return readPrivateKeyFile(resolve(store.location, ref.path), passphrase);
}

/** The templates folder: --templates, CUSTODY_TEMPLATES, or the repository's certs-templates/. */
export function templatesDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.CUSTODY_TEMPLATES ?? join(REPO_ROOT, 'certs-templates'));
}

/** Loads one template by name (or by path when the value ends in .yaml). */
export function loadTemplate(dir: string, nameOrPath: string): CertificateTemplate {
  const file = /\.ya?ml$/.test(nameOrPath) ? resolve(nameOrPath) : join(dir, `${nameOrPath}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CustodyError('ERR_TEMPLATE_MISSING', `${file}: no such template (${(e as NodeJS.ErrnoException).code})`, { file });
  }
  return parseTemplate(text, file);
}

/** Every template in a folder; the first invalid one is an error naming it. */
export function loadTemplates(dir: string): CertificateTemplate[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => loadTemplate(dir, join(dir, f)));
}

/** The clock, read once per command (core takes `now` as a parameter). */
export function now(): Date {
  return new Date();
}
