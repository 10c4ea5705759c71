/**
 * Signing end-user code: `code sign` (a detached CMS code statement, or an IMA v2 signature for devices whose
 * kernel appraises files) and `code signer export`. Code signers are recorded like parties, with the role
 * `code-signer` (`createCodeSigner` in ca.ts); their keys are key files or token keys, loaded as parties' are.
 */
import { basename } from 'node:path';
import { createAttestationSigner } from '@custody/core/attestation';
import { CODE_TYPES, codeSignerProblem, createCodeStatement, imaKeyId, signCode, signImaFile, type CodeType } from '@custody/core/code';
import { CustodyError } from '@custody/core/errors';
import { toHex } from '@custody/core/util';
import { decodePEM, parseCertificate } from '@custody/core/x509';
import type { PartyRecord, Store } from '@custody/store/registry';
import { loadKey, provider, readInputFile } from './context.js';
import { exportParty, type ExportedCertificate } from './exports.js';
import { produceOutput } from './outputs.js';

/** The formats `code sign` writes. */
export const CODE_SIGNATURE_FORMATS = ['cms', 'ima'] as const;
export type CodeSignatureFormat = (typeof CODE_SIGNATURE_FORMATS)[number];

export interface SignCodeOptions {
  /** The file to sign. */
  file: string;
  /** The code signer's name in the store. */
  signer: string;
  /** Where the signature goes; default `FILE.sig` (where `evmctl ima_verify --sigfile` looks). */
  out?: string;
  /** `cms` or `ima` (checked here: the flag is a string). */
  format: string;
  /** `script`, `app` or `config` (checked here). */
  type: string;
  version?: string;
  passphrase: string | undefined;
  force?: boolean;
  now: Date;
}

/** What `code sign` made. */
export interface SignedCodeFile {
  file: string;
  /** The signature file written. */
  signatureFile: string;
  format: CodeSignatureFormat;
  /** Hex SHA-256 of the file (also in the statement, for CMS). */
  sha256: string;
  type: CodeType;
  version?: string;
  signer: { name: string; subject: string; spkiSha256: string };
  /** For IMA: the 4-byte key id the signature carries, hex (what the kernel and evmctl look the key up by). */
  imaKeyId?: string;
}

/**
 * The store's code signer `name`: its record and certificate, refused when it is a party or another kind.
 * @throws ERR_USAGE_SIGNER when there is no code signer of that name, or it has no key in this store
 */
async function codeSignerRecord(store: Store, name: string, needKey: boolean): Promise<PartyRecord> {
  const record = await store.getParty(name);
  if (!record || record.role !== 'code-signer') {
    const signers = (await store.listParties()).filter((p) => p.role === 'code-signer').map((p) => p.name);
    throw new CustodyError(
      'ERR_USAGE_SIGNER',
      `no code signer named "${name}" in ${store.location} (code signers: ${signers.join(', ') || 'none; custody code signer create makes one'})`,
    );
  }
  if (needKey && !record.key) throw new CustodyError('ERR_USAGE_SIGNER', `code signer "${name}" has no key in ${store.location}`);
  return record;
}

/**
 * Signs a file with one of the store's code signers and writes the detached signature. The output is checked
 * before the key is used, and nothing is recorded.
 * @throws ERR_USAGE_SIGNER, ERR_USAGE_FLAGS (--format, --type, --version); ERR_INPUT_* naming the file;
 *   ERR_CODE_SIGNATURE_MALFORMED for a file name a statement cannot hold; ERR_KEY_PASSPHRASE, ERR_PKCS11_*; ERR_IO_EXISTS (unless `force`), ERR_IO_*
 */
export async function signCodeFile(store: Store, o: SignCodeOptions): Promise<SignedCodeFile> {
  const format = o.format as CodeSignatureFormat;
  if (!CODE_SIGNATURE_FORMATS.includes(format))
    throw new CustodyError('ERR_USAGE_FLAGS', `--format ${o.format}: give one of ${CODE_SIGNATURE_FORMATS.join(', ')}`);
  const type = o.type as CodeType;
  if (!CODE_TYPES.includes(type)) throw new CustodyError('ERR_USAGE_FLAGS', `--type ${o.type}: give one of ${CODE_TYPES.join(', ')}`);
  const record = await codeSignerRecord(store, o.signer, true);
  const certificate = decodePEM(record.certificate, ['CERTIFICATE']);
  const cert = parseCertificate(certificate);
  const problem = codeSignerProblem(cert);
  if (problem) throw new CustodyError('ERR_USAGE_SIGNER', `code signer "${o.signer}": ${problem.reason}`);
  const content = readInputFile(o.file, 'code');
  const out = o.out ?? `${o.file}.sig`;
  const sha256 = toHex(await provider.digest('SHA-256', content));
  checkStatementFields(o, type, sha256, record.spkiSha256);
  const result: SignedCodeFile = {
    file: o.file,
    signatureFile: out,
    format,
    sha256,
    type,
    ...(o.version === undefined ? {} : { version: o.version }),
    signer: { name: record.name, subject: cert.subject.text, spkiSha256: record.spkiSha256 },
  };
  if (format === 'ima') result.imaKeyId = toHex(imaKeyId(cert.spki));
  return produceOutput(
    out,
    { ...(o.force ? { force: true } : {}) },
    async () => {
      const key = loadKey(store, record.key!, o.passphrase, cert.spki);
      if (format === 'ima') return signImaFile(content, key, provider);
      const signer = await createAttestationSigner({ certificate, key, provider });
      const signed = await signCode(signer, {
        name: basename(o.file),
        sha256,
        type,
        ...(o.version === undefined ? {} : { version: o.version }),
        time: o.now,
      });
      return signed.der;
    },
    (der) => der,
  ).then(() => result);
}

/**
 * The statement's own checks, before any key is opened: a bad --version is a usage error, a file name a statement
 * cannot hold (a control character) is bad input naming the file.
 */
function checkStatementFields(o: SignCodeOptions, type: CodeType, sha256: string, signer: string): void {
  try {
    createCodeStatement({ name: basename(o.file), sha256, type, ...(o.version === undefined ? {} : { version: o.version }), signer, time: o.now });
  } catch (e) {
    if (!(e instanceof CustodyError)) throw e;
    if (/predicate\.version/.test(e.message))
      throw new CustodyError('ERR_USAGE_FLAGS', `--version ${JSON.stringify(o.version)}: ${e.message.replace(/^.*predicate\.version /, '')}`);
    throw e.withFile(o.file);
  }
}

/**
 * A code signer's certificate as PEM, and with `chain` the CAs of this store above it: what a device owner
 * enrolls or pins.
 * @throws ERR_USAGE_SIGNER; ERR_STORE_CHAIN
 */
export async function exportCodeSigner(store: Store, name: string, o: { chain: boolean }): Promise<ExportedCertificate> {
  await codeSignerRecord(store, name, false);
  return exportParty(store, name, o);
}
