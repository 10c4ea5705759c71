/** What every command builds the same way: the store, the crypto provider, passphrases, the data folders. */
// Narrow entry points (@custody/core/x509, /errors, ...), not the package barrels: this module is on the path of
// the lean launcher (fast/launch.ts), where every module loaded shows in a factory station's per-device start time.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import { BUNDLE_LIMITS } from '@custody/core/bundle';
import { YAML_LIMITS } from '@custody/core/limits';
import type { CertificateTemplate } from '@custody/core/templates';
import { derOrPEM, readPEMBlocks } from '@custody/core/x509';
import { readCertificateInfo, type CertificateInfo } from '@custody/core/x509';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { NodeCryptoProvider } from '@custody/core/node';
import { initStoreAt, openStoreAt, type StoreOptions } from '@custody/store/registry';
import { readPrivateKeyFile, type KeyProtection } from '@custody/store/keys';
import type { KeyRef, Store } from '@custody/store/registry';
import { openTokenKey } from './pkcs11/token-key.js';

/** The repository's data folders (certs-templates/, workflows/), found from this file's location. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const provider = new NodeCryptoProvider();

/**
 * Store options: the key folder of a PostgreSQL store, from `--keys` or CUSTODY_KEYS. An embedded store keeps its
 * keys in its own folder and ignores it.
 */
export function storeOptions(keys?: string): StoreOptions {
  const keyDir = keys ?? process.env.CUSTODY_KEYS;
  return keyDir ? { keyDir } : {};
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

const MiB = 1024 * 1024;
const KiB = 1024;

/**
 * The most bytes custody reads of each kind of input file, and what the kind is called in messages. A file over
 * its bound is refused before a byte of it is read (`ERR_INPUT_TOO_LARGE`). The bounds are generous for real
 * inputs and small enough that a hostile file cannot take the machine's memory.
 */
export const INPUT_LIMITS = {
  /** A bundle (`devices verify --bundle`, `devices import`, `monitor --bundle`): what the bundle parser accepts. */
  bundle: { what: 'bundle', maxBytes: BUNDLE_LIMITS.maxTextLength },
  /** Certificates and trust anchors, PEM or DER (`--trust`, `--ca`, `--cert`, `--to`, `certs inspect`): a PEM file may hold many. */
  certificate: { what: 'certificate file', maxBytes: 4 * MiB },
  /** A CRL, DER or PEM (`--crl`): large CAs publish CRLs of tens of megabytes. */
  crl: { what: 'CRL', maxBytes: 64 * MiB },
  /** A certificate signing request (`devices provision --csr`, `devices activate --ldevid-csr`). */
  csr: { what: 'certificate request', maxBytes: 64 * KiB },
  /** A policy file (`--policy FILE`). */
  policy: { what: 'policy file', maxBytes: YAML_LIMITS.maxLength },
  /** A code policy file (`devices activate --code-policy`). */
  codePolicy: { what: 'code policy file', maxBytes: YAML_LIMITS.maxLength },
  /** The device agent's enrollment state (`agent enroll`, `agent check-code`): a policy and a few certificates. */
  enrollment: { what: 'enrollment state', maxBytes: 256 * KiB },
  /** A workflow file (`--workflow`). */
  workflow: { what: 'workflow file', maxBytes: YAML_LIMITS.maxLength },
  /** A certificate template (`--template FILE.yaml`, the templates folder). */
  template: { what: 'template', maxBytes: YAML_LIMITS.maxLength },
  /** A claims file, JSON or YAML (`--claims`). */
  claims: { what: 'claims file', maxBytes: 256 * KiB },
  /** A challenge or a challenge response (`agent respond --challenge`, `devices verify --response`). */
  challenge: { what: 'challenge or response', maxBytes: 64 * KiB },
  /** A PKCS#11 token PIN (`pin-source=file:` in a `pkcs11:` key URI): its first line. */
  pin: { what: 'PIN file', maxBytes: 4 * KiB },
  /** A private key file, PEM PKCS#8 (`agent respond --key`). */
  key: { what: 'key file', maxBytes: 64 * KiB },
  /** A transparency log's verifier key (`--log-key FILE`). */
  logKey: { what: 'log key file', maxBytes: 4 * KiB },
  /** A consistency proof from `log consistency --json` (`--log-consistency`). */
  consistencyProof: { what: 'consistency proof', maxBytes: 256 * KiB },
  /** A passphrase file, its first line the passphrase (`--passphrase-file`). */
  passphrase: { what: 'passphrase file', maxBytes: 4 * KiB },
  /** End-user code to sign or check (`code sign --file`): a script, an application, a configuration. */
  code: { what: 'code file', maxBytes: 256 * MiB },
  /** A detached code signature, CMS or IMA (`--sig`); the CMS parser's own bound is lower. */
  codeSignature: { what: 'code signature', maxBytes: 64 * KiB },
  /** A list of device serials, one a line (`devices handoff --list`). */
  list: { what: 'list file', maxBytes: 64 * MiB },
} as const satisfies Record<string, { what: string; maxBytes: number }>;

/** A kind of input file: a key of `INPUT_LIMITS`. */
export type InputKind = keyof typeof INPUT_LIMITS;

/** What a file that is not a regular file is, for a message. */
function fileType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function notFile(file: string, what: string): CustodyError {
  return new CustodyError('ERR_INPUT_NOT_FILE', `${file}: is ${what}, not a regular file`, { file });
}

/** `size` undefined: the file grew past the bound while it was read. */
function tooLarge(file: string, size: number | undefined, kind: InputKind): CustodyError {
  const { what, maxBytes } = INPUT_LIMITS[kind];
  const found = size === undefined ? 'grew while read to' : `is ${size} bytes,`;
  return new CustodyError('ERR_INPUT_TOO_LARGE', `${file}: ${found} more than the ${maxBytes} bytes a ${what} may have`, { file });
}

function cannotRead(file: string, e: unknown): CustodyError {
  return new CustodyError('ERR_INPUT_READ', `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, cause: e });
}

/**
 * The bytes of an input file the user named: a regular file of at most `INPUT_LIMITS[kind].maxBytes` bytes,
 * opened once and read to the bound only.
 *
 * The path is stat'ed first only to refuse a FIFO, socket or device without opening it (opening one can block
 * or act: rewind a tape, arm a watchdog). The descriptor is what counts: it is opened non-blocking and without
 * taking a controlling terminal, and its fstat decides (a file swapped in after the stat is caught there).
 * The read stops one byte past the bound, so a file that grows while it is read is refused too.
 * @throws ERR_INPUT_NOT_FILE for a directory, FIFO, socket or device; ERR_INPUT_TOO_LARGE over the bound;
 *   ERR_INPUT_READ when it cannot be read (missing, no permission); each naming the file (bad input, exit 3)
 */
export function readInputFile(file: string, kind: InputKind): Buffer {
  const { maxBytes } = INPUT_LIMITS[kind];
  let fd: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw notFile(file, fileType(st));
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    if (e instanceof CustodyError) throw e;
    // open(2) says ENXIO for a socket and for a device without a driver.
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw notFile(file, 'a socket or a device');
    throw cannotRead(file, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notFile(file, fileType(st));
    if (st.size > maxBytes) throw tooLarge(file, st.size, kind);
    // Room for the size fstat gave plus one byte (to see the end), grown up to the bound plus one byte when the
    // file grows meanwhile or reports no size (as /proc files do).
    let buf = Buffer.allocUnsafe(st.size + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) throw tooLarge(file, undefined, kind);
        const bigger = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, 64 * KiB), maxBytes + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buf.subarray(0, length);
  } catch (e) {
    if (e instanceof CustodyError) throw e;
    throw cannotRead(file, e);
  } finally {
    closeSync(fd);
  }
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
