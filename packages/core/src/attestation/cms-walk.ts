/**
 * Header walks over an attestation's DER for callers that need one fact fast, without `parseAttestation`'s full
 * check: the statement bytes of a record the caller wrote itself, and whether a signature is high-S. The
 * structure is described in `cms.ts`.
 */
import { OID } from '../asn1/oids.js';
import { oid, readSpan, TAG, type TLVSpan } from '../asn1/der.js';
import { isLowSValue } from '../crypto/ecdsa-signature.js';
import { CustodyError } from '../errors.js';
import { CONTENT_TYPE } from './cms-common.js';

function malformed(what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_ATTESTATION_MALFORMED', `attestation: ${what}`, cause === undefined ? {} : { cause });
}

const SIGNED_DATA_OID = oid(OID.signedData);
const DATA_OID = oid(CONTENT_TYPE);
const span: TLVSpan = { tag: 0, start: 0, end: 0 };

/**
 * Reads the TLV at `offset` into `span`, checking that it has `tag` and ends at `end` when given; returns where it
 * ends (its value starts at `span.start`, valid until the next read).
 */
function endOf(der: Uint8Array, offset: number, tag: number, end: number | undefined, what: string): number {
  readSpan(der, offset, span);
  if (span.tag !== tag) throw malformed(`${what}: expected tag 0x${tag.toString(16)}, found 0x${span.tag.toString(16)}`);
  if (end !== undefined && span.end !== end) throw malformed(`${what}: unexpected length`);
  return span.end;
}

/** True when the OID TLV at der[start, end) is `expected` (an encoded OID TLV). */
function isOIDAt(der: Uint8Array, start: number, end: number, expected: Uint8Array): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (der[start + i] !== expected[i]) return false;
  return true;
}

/**
 * The statement bytes (eContent) of an attestation, found by walking only the outer structure: for records the
 * caller wrote itself (a registry reading its own chain), where `parseAttestation`'s full check is not needed.
 * The walk checks what `openSignedData` checks, header by header, and makes no view but the one it returns.
 * @throws ERR_ATTESTATION_MALFORMED when the outer structure is not a SignedData with id-data content
 */
export function readStatementBytes(der: Uint8Array): Uint8Array {
  try {
    // ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT SignedData }
    const infoEnd = endOf(der, 0, TAG.SEQUENCE, der.length, 'ContentInfo');
    const typeAt = span.start;
    const typeEnd = endOf(der, typeAt, TAG.OID, undefined, 'contentType');
    if (!isOIDAt(der, typeAt, typeEnd, SIGNED_DATA_OID)) throw malformed('not a SignedData');
    const wrapEnd = endOf(der, typeEnd, 0xa0, infoEnd, 'content');
    const sdEnd = endOf(der, span.start, TAG.SEQUENCE, wrapEnd, 'SignedData');
    // SignedData: version, digestAlgorithms, encapContentInfo, then certificates, CRLs, signerInfos (3 or more).
    let fields = 0;
    let encapAt = -1;
    for (let p = span.start; p < sdEnd; fields++) {
      if (fields === 2) encapAt = p;
      p = readSpan(der, p, span).end;
    }
    if (fields < 3) throw malformed(`unexpected element count ${fields}`);
    // EncapsulatedContentInfo ::= SEQUENCE { eContentType, eContent [0] EXPLICIT OCTET STRING }
    const encapEnd = endOf(der, encapAt, TAG.SEQUENCE, undefined, 'encapContentInfo');
    const eTypeAt = span.start;
    const eTypeEnd = endOf(der, eTypeAt, TAG.OID, undefined, 'eContentType');
    if (!isOIDAt(der, eTypeAt, eTypeEnd, DATA_OID)) throw malformed('eContentType is not id-data');
    const eWrapEnd = endOf(der, eTypeEnd, 0xa0, encapEnd, 'eContent');
    readSpan(der, span.start, span);
    if (span.tag !== TAG.OCTET_STRING || span.end !== eWrapEnd) throw malformed('eContent is not a primitive OCTET STRING');
    return der.subarray(span.start, span.end);
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_ATTESTATION_MALFORMED') throw e;
    throw malformed((e as Error).message, e);
  }
}

const ECDSA_SHA256_OID = oid(OID.ecdsaWithSHA256);
const ECDSA_SHA384_OID = oid(OID.ecdsaWithSHA384);

/**
 * True when `der` is an attestation whose signature has a high S (s > n/2), found by walking headers only: a
 * registry's check of what it is asked to record, about half a microsecond, where `parseAttestation` takes
 * tens. The curve is the signatureAlgorithm's (`parseAttestation` holds it to the signer key's). Bytes that
 * are not shaped like an attestation are not judged here (false): that is the parser's part.
 */
export function isHighSAttestation(der: Uint8Array): boolean {
  try {
    const infoEnd = endOf(der, 0, TAG.SEQUENCE, der.length, 'ContentInfo');
    const typeAt = span.start;
    const typeEnd = endOf(der, typeAt, TAG.OID, undefined, 'contentType');
    if (!isOIDAt(der, typeAt, typeEnd, SIGNED_DATA_OID)) return false;
    const wrapEnd = endOf(der, typeEnd, 0xa0, infoEnd, 'content');
    const sdEnd = endOf(der, span.start, TAG.SEQUENCE, wrapEnd, 'SignedData');
    // signerInfos is the last field of the SignedData; the signature is the last field of its SignerInfo, and
    // the signatureAlgorithm the one before.
    for (let p = span.start; p < sdEnd;) p = readSpan(der, p, span).end;
    if (span.tag !== TAG.SET || span.end !== sdEnd) return false;
    const siEnd = endOf(der, span.start, TAG.SEQUENCE, sdEnd, 'SignerInfo');
    let algAt = -1;
    let sigAt = -1;
    let sigTag = 0;
    for (let p = span.start; p < siEnd;) {
      algAt = sigAt;
      sigAt = p;
      sigTag = readSpan(der, p, span).tag;
      p = span.end;
    }
    if (algAt < 0 || sigTag !== TAG.OCTET_STRING || span.end !== siEnd) return false;
    const sigEnd = span.end;
    const valueEnd = endOf(der, span.start, TAG.SEQUENCE, sigEnd, 'signature');
    const rEnd = endOf(der, span.start, TAG.INTEGER, undefined, 'r');
    const sEnd = endOf(der, rEnd, TAG.INTEGER, valueEnd, 's');
    const sStart = span.start;
    const algEnd = endOf(der, algAt, TAG.SEQUENCE, undefined, 'signatureAlgorithm');
    const oidAt = span.start;
    const oidEnd = endOf(der, oidAt, TAG.OID, algEnd, 'signatureAlgorithm');
    const curve = isOIDAt(der, oidAt, oidEnd, ECDSA_SHA256_OID) ? 'P-256' : isOIDAt(der, oidAt, oidEnd, ECDSA_SHA384_OID) ? 'P-384' : undefined;
    return curve !== undefined && !isLowSValue(der, sStart, sEnd, curve);
  } catch {
    return false;
  }
}
