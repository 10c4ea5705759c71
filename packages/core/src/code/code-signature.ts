/**
 * Detached code signatures: a CMS SignedData (RFC 5652), the same strict structure as an attestation (`cms.ts`:
 * one signer, its certificate, content-type, signing-time and message-digest signed, low-S ECDSA), whose
 * content is a code statement (`code-statement.ts`) naming the file by base name and SHA-256.
 */
import type { AttestationSigner } from '../attestation/cms-sign.js';
import { signEncodedStatement } from '../attestation/cms-sign.js';
import { parseSignedContent, type SignedContent } from '../attestation/cms-parse.js';
import { CustodyError } from '../errors.js';
import { toHex } from '../util/bytes.js';
import { createCodeStatement, encodeCodeStatement, parseCodeStatement, type CodeStatement, type CodeType } from './code-statement.js';

/** Largest code signature accepted, in bytes (a signature with a P-384 certificate is under 2 KiB). */
export const CODE_SIGNATURE_MAX = 16 * 1024;

/** What `signCode` signs: the file (or its SHA-256) and the predicate's fields. */
export interface CodeSignInput {
  /** The file's base name. */
  name: string;
  /** The file's bytes; or give `sha256`. */
  content?: Uint8Array;
  /** Hex SHA-256 of the file, when `content` is not given. */
  sha256?: string;
  type: CodeType;
  version?: string;
  /** The signing time (statement and CMS signing-time). */
  time: Date;
}

/** A signed code statement. */
export interface SignedCode {
  /** DER ContentInfo. */
  der: Uint8Array;
  statement: CodeStatement;
}

/**
 * Signs a code statement for a file with a signer prepared by `createAttestationSigner` (its certificate should be
 * a code signer's: `codeSignerProblem`).
 * @throws ERR_CODE_SIGNATURE_MALFORMED for a bad name, version or time; TypeError with neither content nor sha256
 */
export async function signCode(signer: AttestationSigner, input: CodeSignInput): Promise<SignedCode> {
  let sha256 = input.sha256;
  if (input.content) sha256 = toHex(await signer.provider.digest('SHA-256', input.content));
  if (sha256 === undefined) throw new TypeError('signCode needs the content or its sha256');
  const statement = createCodeStatement({
    name: input.name,
    sha256,
    type: input.type,
    ...(input.version === undefined ? {} : { version: input.version }),
    signer: signer.spkiSha256,
    time: input.time,
  });
  const der = await signEncodedStatement(signer, encodeCodeStatement(statement), input.time);
  return { der, statement };
}

/** A code signature taken apart by `parseCodeSignature`. */
export interface ParsedCodeSignature extends SignedContent {
  statement: CodeStatement;
}

/**
 * Strict parse of a code signature: the attestation's SignedData structure, a code statement inside. Checks no
 * signature and no trust (`verifyCodeSignature` does).
 * @throws ERR_CODE_SIGNATURE_MALFORMED naming what is wrong (a high-S signature included)
 */
export function parseCodeSignature(der: Uint8Array): ParsedCodeSignature {
  if (der.length > CODE_SIGNATURE_MAX)
    throw new CustodyError('ERR_CODE_SIGNATURE_MALFORMED', `code signature: ${der.length} bytes, more than ${CODE_SIGNATURE_MAX}`);
  let parsed: SignedContent;
  try {
    parsed = parseSignedContent(der);
  } catch (e) {
    if (!(e instanceof CustodyError)) throw e;
    throw new CustodyError('ERR_CODE_SIGNATURE_MALFORMED', `code signature: ${e.message.replace(/^attestation: /, '')}`, { cause: e });
  }
  return { ...parsed, statement: parseCodeStatement(parsed.statementBytes) };
}
