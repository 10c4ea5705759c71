/**
 * Reading attestations back: a strict parse of exactly the structure `cms-sign.ts` writes, then the integrity
 * check (message digest, `from`, signature). The structure is described in `cms.ts`.
 */
import { OID } from '../asn1/oids.js';
import { expectSeq, readOne, readSmallInt, readTime, TAG, type TLV } from '../asn1/der.js';
import { ecdsaDERToP1363, isLowS } from '../crypto/ecdsa-signature.js';
import type { CryptoProvider, CurveName, HashName, PublicKeyHandle } from '../crypto/provider.js';
import { curveHash } from '../crypto/provider.js';
import { CustodyError } from '../errors.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { CONTENT_TYPE, CURVE_OID, HASH_LEN, HASH_OID, SIG_OID, syncOf, type SignerIdKind } from './cms-common.js';
import { readOIDCached } from './oid-cache.js';
import { readSignerCertificate } from './signer-certificate.js';
import { parseStatement, type Statement } from './statement.js';

/**
 * A SignedData taken apart by `parseSignedContent`, content not yet interpreted; byte fields are views into `der`
 * unless noted. An attestation and a code signature share this structure and differ only in their content.
 */
export interface SignedContent {
  der: Uint8Array;
  /** The eContent octets exactly as signed. */
  statementBytes: Uint8Array;
  signerCertificate: Uint8Array;
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

/** An attestation taken apart by `parseAttestation`: the SignedData and its custody statement. */
export interface ParsedAttestation extends SignedContent {
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

/**
 * Strict parse of an attestation: exactly the structure `signAttestation` writes (one signer, its certificate,
 * the three signed attributes, no CRLs or unsigned attributes), its signature in low-S form. Does not check
 * the signature or the message digest against the content: `verifyAttestationSignature` does.
 * @throws ERR_ATTESTATION_MALFORMED naming what is wrong; ERR_ATTESTATION_HIGH_S for a signature whose s exceeds
 *   n/2 (the malleable twin of a valid one); ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for the content
 */
export function parseAttestation(der: Uint8Array): ParsedAttestation {
  const parsed = parseSignedContent(der);
  return { ...parsed, statement: parseStatement(parsed.statementBytes) };
}

/**
 * `parseAttestation` without reading the content: the same strict SignedData, for a content of another kind (a
 * code signature's statement), which the caller parses.
 * @throws ERR_ATTESTATION_MALFORMED naming what is wrong; ERR_ATTESTATION_HIGH_S; ERR_ATTESTATION_SID
 */
export function parseSignedContent(der: Uint8Array): SignedContent {
  let result: SignedContent;
  try {
    const opened = openSignedData(der, true);
    const [version, digestAlgs, , certs, signerInfos] = opened.fields;
    const content = opened.content;
    const certList = expectSeq(certs!, 0xa0);
    if (certList.length !== 1) throw malformed(`certificates holds ${certList.length} entries; a custody attestation carries exactly its signer's certificate`);
    const certTLV = certList[0];
    if (certTLV!.tag !== TAG.SEQUENCE) throw malformed('certificates holds something other than one certificate');
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
    result = {
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
  } catch (e) {
    if (isOwnCode(e)) throw e;
    throw malformed((e as Error).message, e);
  }
  return result;
}

function signatureError(msg: string): CustodyError {
  return new CustodyError('ERR_ATTESTATION_SIGNATURE', `attestation: ${msg}`);
}

/**
 * Checks a parsed attestation's own integrity: the message digest against the content, the statement's `from`
 * against the signer certificate's key, and the signature over the signed attributes with that key.
 * Whether the signer certificate is trusted (its chain, its validity, its role) is the caller's check.
 * @throws ERR_ATTESTATION_SIGNATURE when the digest or the signature does not verify; ERR_ATTESTATION_SIGNER when
 *   `from` is not the signer's key; ERR_ATTESTATION_MALFORMED when the provider refuses the signer's key
 */
export async function verifyAttestationSignature(parsed: ParsedAttestation, provider: CryptoProvider): Promise<void> {
  const sync = syncOf(provider);
  const spkiHash = await checkContentDigest(parsed, provider);
  if (spkiHash !== parsed.statement.predicate.from) {
    throw new CustodyError(
      'ERR_ATTESTATION_SIGNER',
      `attestation: statement "from" is ${parsed.statement.predicate.from}, but the signer's key is ${spkiHash}`,
    );
  }
  await checkContentSignature(parsed, provider, sync);
}

/**
 * Checks a parsed SignedData's message digest against its content and its signature with the signer certificate's
 * key (or `key`, that key already imported by a caller that checks many signatures of one signer); returns the hex
 * SHA-256 of that key's SPKI. Whether the signer is trusted is the caller's check.
 * @throws ERR_ATTESTATION_SIGNATURE when the digest or the signature does not verify; ERR_ATTESTATION_MALFORMED
 *   when the provider refuses the signer's key
 */
export async function verifySignedContent(parsed: SignedContent, provider: CryptoProvider, key?: PublicKeyHandle): Promise<string> {
  const spkiHash = await checkContentDigest(parsed, provider);
  await checkContentSignature(parsed, provider, syncOf(provider), key);
  return spkiHash;
}

/** The message digest against the content; returns the hex SHA-256 of the signer's SPKI. */
async function checkContentDigest(parsed: SignedContent, provider: CryptoProvider): Promise<string> {
  const sync = syncOf(provider);
  const digest = sync ? sync.digestSync(parsed.hash, parsed.statementBytes) : await provider.digest(parsed.hash, parsed.statementBytes);
  if (!equalBytes(digest, parsed.messageDigest)) throw signatureError('message-digest does not match the content');
  return toHex(sync ? sync.digestSync('SHA-256', parsed.signerSpki) : await provider.digest('SHA-256', parsed.signerSpki));
}

async function checkContentSignature(parsed: SignedContent, provider: CryptoProvider, sync: ReturnType<typeof syncOf>, given?: PublicKeyHandle): Promise<void> {
  let key: PublicKeyHandle;
  try {
    key = given ?? (sync ? sync.importPublicKeySync(parsed.signerSpki) : await provider.importPublicKey(parsed.signerSpki));
  } catch (e) {
    throw malformed('the signer certificate key cannot be imported', e);
  }
  const ok = sync ? sync.verifySync(key, parsed.signedAttrs, parsed.signatureP1363) : await provider.verify(key, parsed.signedAttrs, parsed.signatureP1363);
  if (!ok) throw signatureError('the signature does not verify with the signer certificate key');
}
