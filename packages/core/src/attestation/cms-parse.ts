/**
 * Reading attestations back: a strict parse of exactly the structure `cms-sign.ts` writes, then the integrity
 * check (message digest, `from`, signature). The structure is described in `cms.ts`.
 */
import { OID } from '../asn1/oids.js';
import { expectSeq, oid, readOne, readSmallInt, readSpan, readTime, TAG, type TLV, type TLVSpan } from '../asn1/der.js';
import { ecdsaDERToP1363, isLowS, isLowSValue } from '../crypto/ecdsa-signature.js';
import type { CurveName, HashName } from '../crypto/provider.js';
import { curveHash } from '../crypto/provider.js';
import { CustodyError } from '../errors.js';
import { equalBytes } from '../util/bytes.js';
import { CONTENT_TYPE, CURVE_OID, HASH_LEN, HASH_OID, SIG_OID, type SignerIdKind } from './cms-common.js';
import { readOIDCached } from './oid-cache.js';
import { readSignerCertificate } from './signer-certificate.js';
import { parseStatement, type Statement } from './statement.js';

/**
 * A SignedData taken apart by `parseSignedEnvelope`, before its content is read; byte fields are views into `der`
 * unless noted. Attestations and release manifests share it.
 */
export interface SignedEnvelope {
  der: Uint8Array;
  /** The eContent octets exactly as signed. */
  statementBytes: Uint8Array;
  signerCertificate: Uint8Array;
  /**
   * Certificates after the signer's (its CA chain, no root), when the caller allowed them
   * (`parseSignedEnvelope`'s `maxCertificates`); absent otherwise.
   */
  chain?: Uint8Array[];
  /** SubjectPublicKeyInfo DER of the signer certificate. */
  signerSpki: Uint8Array;
  sidKind: SignerIdKind;
  curve: CurveName;
  hash: HashName;
  /** The signed attributes re-tagged as SET OF (0x31): the bytes the signature covers (a copy). */
  signedAttrs: Uint8Array;
  /** The signature as it appears in the CMS (DER Ecdsa-Sig-Value). */
  signature: Uint8Array;
  /** The same signature as P1363 r || s (a copy), the form providers verify. */
  signatureP1363: Uint8Array;
  signingTime: Date;
  /** The message-digest attribute value. */
  messageDigest: Uint8Array;
}

/** An attestation taken apart by `parseAttestation`: its envelope and its statement. */
export interface ParsedAttestation extends SignedEnvelope {
  statement: Statement;
}

function malformed(what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_ATTESTATION_MALFORMED', `attestation: ${what}`, cause === undefined ? {} : { cause });
}

/**
 * The error for an attestation whose signature has s > n/2; `what` names the attestation ("attestation",
 * "device X: attestation 2").
 */
export function highSError(what: string): CustodyError {
  return new CustodyError(
    'ERR_ATTESTATION_HIGH_S',
    `${what}: the signature has a high S (s > n/2); custody accepts only low-S signatures, because (r, n - s) verifies as well and would be another attestation with another hash`,
  );
}

/** A code parseAttestation lets through as it is, rather than as ERR_ATTESTATION_MALFORMED. */
const isOwnCode = (e: unknown): boolean =>
  e instanceof CustodyError && (e.code === 'ERR_ATTESTATION_MALFORMED' || e.code === 'ERR_ATTESTATION_HIGH_S' || e.code === 'ERR_ATTESTATION_SID');

function algOf(t: TLV, names: Record<string, string>, what: string): string {
  const [o] = expectSeq(t, TAG.SEQUENCE, 1, 1); // parameters absent (RFC 5754 2, RFC 5758 3.2)
  const dotted = readOIDCached(o!);
  const name = Object.keys(names).find((k) => names[k] === dotted);
  if (!name) throw malformed(`unsupported ${what} ${dotted}`);
  return name;
}

function curveOfSpki(spki: Uint8Array): CurveName {
  const [alg] = expectSeq(readOne(spki), TAG.SEQUENCE, 2, 2);
  const [kind, params] = expectSeq(alg!, TAG.SEQUENCE, 2, 2);
  if (readOIDCached(kind!) !== OID.ecPublicKey) throw malformed('signer key is not an EC key');
  const curve = CURVE_OID[readOIDCached(params!)];
  if (!curve) throw malformed('signer key is not on P-256 or P-384');
  return curve;
}

/** The signed attributes custody writes, with the RFC 5652 section that allows each exactly once. */
const SIGNED_ATTRS: ReadonlyArray<{ oid: string; name: string; rfc: string }> = [
  { oid: OID.contentType, name: 'content-type', rfc: '11.1' },
  { oid: OID.messageDigest, name: 'message-digest', rfc: '11.2' },
  { oid: OID.signingTime, name: 'signing-time', rfc: '11.3' },
];

/** Checks that each signed attribute's encoding is strictly greater than the one before (DER SET OF order). */
function checkSetOrder(items: TLV[], what: string): void {
  for (let i = 1; i < items.length; i++) {
    const a = items[i - 1]!.raw;
    const b = items[i]!.raw;
    const n = Math.min(a.length, b.length);
    let c = 0;
    for (let j = 0; j < n && c === 0; j++) c = a[j]! - b[j]!;
    if (c === 0) c = a.length - b.length;
    if (c >= 0) throw malformed(`${what} not in DER order`);
  }
}

/**
 * The SignedData fields of a ContentInfo and its encapsulated content: the outer walk both readers share.
 * `exact` asks for exactly the five fields this module writes (no CRLs); otherwise three or more.
 */
function openSignedData(der: Uint8Array, exact: boolean): { fields: TLV[]; content: Uint8Array } {
  const [ct, ctValue] = expectSeq(readOne(der), TAG.SEQUENCE, 2, 2);
  if (readOIDCached(ct!) !== OID.signedData) throw malformed('not a SignedData');
  const [sd] = expectSeq(ctValue!, 0xa0, 1, 1);
  const fields = expectSeq(sd!, TAG.SEQUENCE, 3);
  if (exact && fields.length !== 5) {
    throw malformed(
      `SignedData has ${fields.length} fields; a custody attestation has exactly version, digestAlgorithms, encapContentInfo, certificates and signerInfos (RFC 5652 5.1; no crls)`,
    );
  }
  const [eType, eContent] = expectSeq(fields[2]!, TAG.SEQUENCE, 2, 2);
  if (readOIDCached(eType!) !== CONTENT_TYPE) throw malformed('eContentType is not id-data');
  const [octets] = expectSeq(eContent!, 0xa0, 1, 1);
  if (octets!.tag !== TAG.OCTET_STRING) throw malformed('eContent is not a primitive OCTET STRING');
  return { fields, content: octets!.value };
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

/**
 * Strict parse of an attestation: exactly the structure `signAttestation` writes (one signer, its certificate,
 * the three signed attributes, no CRLs or unsigned attributes), its signature in low-S form. Does not check
 * the signature or the message digest against the content: `verifyAttestationSignature` does.
 * @throws ERR_ATTESTATION_MALFORMED naming what is wrong; ERR_ATTESTATION_HIGH_S for a signature whose s exceeds
 *   n/2 (the malleable twin of a valid one); ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for the content
 */
export function parseAttestation(der: Uint8Array): ParsedAttestation {
  const envelope = parseSignedEnvelope(der, 1) as ParsedAttestation;
  envelope.statement = parseStatement(envelope.statementBytes);
  return envelope;
}

/**
 * Strict parse of the SignedData structure `cms-sign.ts` writes, whatever its content: `parseAttestation` without
 * the statement, for other signed documents (release manifests). `maxCertificates` is how many certificates the
 * caller accepts: the signer's first, then its CA chain.
 * @throws ERR_ATTESTATION_MALFORMED naming what is wrong; ERR_ATTESTATION_HIGH_S; ERR_ATTESTATION_SID
 */
export function parseSignedEnvelope(der: Uint8Array, maxCertificates: number): SignedEnvelope {
  try {
    const opened = openSignedData(der, true);
    const [version, digestAlgs, , certs, signerInfos] = opened.fields;
    const content = opened.content;
    const certList = expectSeq(certs!, 0xa0);
    if (certList.length < 1 || certList.length > maxCertificates)
      throw malformed(
        maxCertificates === 1
          ? `certificates holds ${certList.length} entries; a custody attestation carries exactly its signer's certificate`
          : `certificates holds ${certList.length} entries; expected the signer's and at most ${maxCertificates - 1} CA certificates`,
      );
    for (const c of certList) if (c.tag !== TAG.SEQUENCE) throw malformed('certificates holds something other than a certificate');
    const certTLV = certList[0];
    const cert = readSignerCertificate(certTLV!.raw, 'ERR_ATTESTATION_MALFORMED');
    const curve = curveOfSpki(cert.spki);
    const hash = curveHash(curve);

    const signers = expectSeq(signerInfos!, TAG.SET);
    if (signers.length !== 1)
      throw malformed(`SignedData holds ${signers.length} SignerInfos; a custody attestation has exactly one (RFC 5652 5.1 allows more, custody does not)`);
    const siFields = expectSeq(signers[0]!, TAG.SEQUENCE);
    if (siFields.length !== 6) {
      throw malformed(
        `SignerInfo has ${siFields.length} fields; a custody attestation's has exactly version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm and signature (RFC 5652 5.3; no unsignedAttrs)`,
      );
    }
    const [siVersion, sid, digestAlg, attrs, sigAlg, sigValue] = siFields;
    let sidKind: SignerIdKind;
    if (sid!.tag === 0x80) {
      sidKind = 'subjectKeyIdentifier';
      if (!cert.subjectKeyId || !equalBytes(cert.subjectKeyId, sid!.value)) throw malformed('the certificate does not match the signer identifier');
    } else if (sid!.tag === TAG.SEQUENCE) {
      sidKind = 'issuerAndSerialNumber';
      // The signer identifier is not signed: two forms for one certificate would make two attestations (two
      // hashes) of one signature. A certificate with a key identifier is named by it, as custody writes it.
      if (cert.subjectKeyId)
        throw new CustodyError(
          'ERR_ATTESTATION_SID',
          'attestation: the signer is named by issuer and serial number, but its certificate has a subjectKeyIdentifier: custody names such a signer by its key identifier (the identifier is not signed, so a second form would be a second attestation of one signature)',
        );
      const [issuer, serial] = expectSeq(sid!, TAG.SEQUENCE, 2, 2);
      if (!equalBytes(issuer!.raw, cert.issuer) || !equalBytes(serial!.raw, cert.serial))
        throw malformed('the certificate does not match the signer identifier');
    } else throw malformed('unknown signer identifier');
    const siV = sidKind === 'subjectKeyIdentifier' ? 3 : 1;
    if (readSmallInt(siVersion!) !== siV) throw malformed(`SignerInfo version must be ${siV}`);
    if (readSmallInt(version!) !== siV) throw malformed(`SignedData version must be ${siV}`);

    const dAlgs = expectSeq(digestAlgs!, TAG.SET);
    if (dAlgs.length !== 1) throw malformed(`digestAlgorithms lists ${dAlgs.length} algorithms; a custody attestation lists exactly its signer's`);
    const dAlg = dAlgs[0];
    if (algOf(dAlg!, HASH_OID, 'digest algorithm') !== hash) throw malformed(`digestAlgorithms must be ${hash} for a ${curve} key`);
    if (algOf(digestAlg!, HASH_OID, 'digest algorithm') !== hash) throw malformed(`digestAlgorithm must be ${hash} for a ${curve} key`);
    if (algOf(sigAlg!, SIG_OID, 'signature algorithm') !== hash) throw malformed(`signatureAlgorithm must be ECDSA with ${hash}`);
    if (sigValue!.tag !== TAG.OCTET_STRING) throw malformed('signature is not an OCTET STRING');
    let signatureP1363: Uint8Array;
    try {
      signatureP1363 = ecdsaDERToP1363(sigValue!.value, curve);
    } catch (e) {
      throw malformed('signature is not a DER ECDSA signature', e);
    }
    if (!isLowS(signatureP1363, curve)) throw highSError('attestation');

    const items = expectSeq(attrs!, 0xa0);
    // Each attribute's values by kind (SIGNED_ATTRS order), then the counts judged before any value is read.
    const found: Array<TLV | undefined> = [undefined, undefined, undefined];
    const count = [0, 0, 0];
    for (const item of items) {
      const [type, values] = expectSeq(item, TAG.SEQUENCE, 2, 2);
      const t = readOIDCached(type!);
      const k = SIGNED_ATTRS.findIndex((a) => a.oid === t);
      if (k < 0) throw malformed(`unexpected signed attribute ${t}; a custody attestation signs exactly content-type, signing-time and message-digest`);
      found[k] = values;
      count[k]!++;
    }
    SIGNED_ATTRS.forEach((a, k) => {
      if (count[k] === 0)
        throw malformed(`the signed attribute ${a.name} is missing; a custody attestation signs exactly content-type, signing-time and message-digest`);
      if (count[k]! > 1)
        throw malformed(
          `the signed attribute ${a.name} appears ${count[k] === 2 ? 'twice' : `${count[k]} times`}; RFC 5652 ${a.rfc} requires exactly one value and one instance`,
        );
    });
    checkSetOrder(items, 'signed attributes');
    const [ctValue, mdValue, stValue] = SIGNED_ATTRS.map((a, k) => {
      const values = expectSeq(found[k]!, TAG.SET);
      if (values.length !== 1)
        throw malformed(`the signed attribute ${a.name} holds ${values.length} values; RFC 5652 ${a.rfc} requires exactly one value and one instance`);
      return values[0]!;
    }) as [TLV, TLV, TLV];
    if (readOIDCached(ctValue) !== CONTENT_TYPE) throw malformed('content-type attribute does not match eContentType');
    if (mdValue.tag !== TAG.OCTET_STRING || mdValue.value.length !== HASH_LEN[hash]) throw malformed(`message-digest is not a ${hash} digest`);
    const messageDigest = mdValue.value;
    const signingTime = readTime(stValue);
    const y = signingTime.getUTCFullYear();
    if ((stValue.tag === TAG.UTC_TIME) !== (y >= 1950 && y <= 2049))
      throw malformed('signing-time must be UTCTime from 1950 to 2049, GeneralizedTime otherwise');
    const signedAttrs = attrs!.raw.slice();
    signedAttrs[0] = TAG.SET;
    const result: SignedEnvelope = {
      der,
      statementBytes: content,
      signerCertificate: certTLV!.raw,
      signerSpki: cert.spki,
      sidKind,
      curve,
      hash,
      signedAttrs,
      signature: sigValue!.value,
      signatureP1363,
      signingTime,
      messageDigest,
    };
    if (certList.length > 1) result.chain = certList.slice(1).map((c) => c.raw);
    return result;
  } catch (e) {
    if (isOwnCode(e)) throw e;
    throw malformed((e as Error).message, e);
  }
}
