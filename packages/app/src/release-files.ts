/**
 * `--releases DIR`: the release manifests and withdrawal lists a verification checks installed firmware against.
 * Every regular file directly in the folder is read (bounded, as any input) and sorted by what it holds: a release
 * manifest or a withdrawal list, DER or PEM. A file that is neither is bad input, named.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError, derOrPEM } from '@custody/core';
import { parseReleaseManifest, parseWithdrawalList } from '@custody/core/release';
import type { ReleaseDocument, ReleaseDocuments } from '@custody/core';
import { readInputFile } from './context.js';

/** Most files `--releases` reads: a manufacturer's whole release history fits many times over. */
export const MAX_RELEASE_FILES = 4096;

/** How a file is told apart: which parser accepts its bytes. */
function kindOf(der: Uint8Array): 'manifest' | 'withdrawals' | undefined {
  try {
    parseReleaseManifest(der);
    return 'manifest';
  } catch {
    // not a manifest: perhaps a withdrawal list
  }
  try {
    parseWithdrawalList(der);
    return 'withdrawals';
  } catch {
    return undefined;
  }
}

/**
 * Reads a folder of release manifests and withdrawal lists; dot files are skipped.
 * @throws ERR_USAGE_RELEASES when the folder cannot be listed or holds too many files; ERR_INPUT_* for a file that
 *   cannot be read; ERR_INPUT_RELEASE_FILE for a file that is neither a release manifest nor a withdrawal list
 */
export function readReleaseDocuments(dir: string): ReleaseDocuments {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch (e) {
    throw new CustodyError('ERR_USAGE_RELEASES', `--releases ${dir}: not a folder that can be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
      cause: e,
    });
  }
  if (names.length > MAX_RELEASE_FILES)
    throw new CustodyError('ERR_USAGE_RELEASES', `--releases ${dir}: ${names.length} files, more than the ${MAX_RELEASE_FILES} read`);
  const manifests: ReleaseDocument[] = [];
  const withdrawals: ReleaseDocument[] = [];
  for (const name of names.sort()) {
    const file = join(dir, name);
    const bytes = new Uint8Array(readInputFile(file, 'releaseDocument'));
    let der: Uint8Array;
    try {
      der = derOrPEM(bytes, ['CMS', 'PKCS7']);
    } catch {
      der = bytes;
    }
    const kind = kindOf(der);
    if (kind === undefined)
      throw new CustodyError('ERR_INPUT_RELEASE_FILE', `${file}: neither a release manifest nor a withdrawal list (signed CMS, DER or PEM)`, { file });
    (kind === 'manifest' ? manifests : withdrawals).push({ name: file, der });
  }
  return { manifests, withdrawals };
}
