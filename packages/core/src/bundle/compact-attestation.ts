/**
 * The compact form of a detached attestation: only the signature. For an attestation made the way
 * `signAttestation` makes it on a P-256 key (the custody default), every other byte of the shell follows from
 * the statement and the signer certificate (RFC 5652 5.1, 5.3, 5.4; RFC 5754 2; RFC 5758 3.2):
 *
 * ```asn1
 * version          3 with a subjectKeyIdentifier sid (the certificate has an SKI), 1 with issuerAndSerialNumber
 * digestAlgorithms SET { sha256 }                   eContentType id-data
 * SignerInfo ::= SEQUENCE { version, sid, sha256,
 *   signedAttrs [0] { contentType id-data, signingTime = predicate.time, messageDigest = SHA-256(statement) },
 *   ecdsa-with-SHA256, signature OCTET STRING }      -- the only stored part
 * ```
 *
 * `createBundle` uses the compact form only after checking that expanding it gives the original shell byte for
 * byte, and keeps the whole shell otherwise (P-384 keys, a signing-time other than the statement time, a
 * forced issuerAndSerialNumber sid). Expansion is deterministic, and the result is parsed and verified like any
 * attestation, so a wrong expansion can only fail verification, never pass it.
 */
import { children, explicit, generalizedTime, octetString, oid, readOne, seq, setOf, smallInt, TAG, tlv } from '../asn1/der.js';
import { OID } from '../asn1/oids.js';
import { algId, attribute, hdrLen, put, writeHdr } from '../attestation/cms-common.js';
import { readSignerCertificate } from '../attestation/signer-certificate.js';
import type { ParsedCertificate } from '../validation/certificate.js';
import { encodeCheckedStatement, encodeStatement, type Statement } from '../attestation/statement.js';
import { CustodyError } from '../errors.js';
import { equalBytes } from '../util/bytes.js';
import { allocBytes } from '../util/slab.js';
import { sha256 as pureSha256 } from '../util/sha256.js';
import { readShell } from './detach-attestation.js';

/** SHA-256 of some bytes; callers on the server pass a native one. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

const P256_ALG = seq(oid(OID.ecPublicKey), oid(OID.prime256v1));
const SIGNED_DATA = oid(OID.signedData);
const DATA = oid(OID.data);
const SHA256_ALG = algId(OID.sha256);
const ECDSA_SHA256_ALG = algId(OID.ecdsaWithSHA256);
const CT_ATTR = attribute(OID.contentType, DATA);
const DIGEST_ALGS = setOf(SHA256_ALG);
/** The signingTime attribute up to its 13 UTCTime characters, and the messageDigest one up to its 32 bytes. */
const UTC_TIME_HEAD = attribute(OID.signingTime, tlv(TAG.UTC_TIME, new Uint8Array(13))).subarray(0, -13);
const DIGEST_HEAD = attribute(OID.messageDigest, octetString(new Uint8Array(32))).subarray(0, -32);

function bad(what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_BUNDLE_ATTESTATION', `attestation: ${what}`, cause === undefined ? {} : { cause });
}

/**
 * Every part of an attestation rebuilt from its compact form. Byte fields may be carved from a shared slab
 * (util/slab.ts, as cms-sign's output is): read them through their views, never through `.buffer` whole.
 */
export interface CompactParts {
  /** The whole attestation DER (what is hashed and verified). */
  readonly der: Uint8Array;
  /** The canonical statement bytes: the eContent. */
  readonly content: Uint8Array;
  /** SHA-256 of `content`: the message-digest attribute. */
  readonly messageDigest: Uint8Array;
  /** The signed attributes as signed (SET OF, tag 0x31). */
  readonly signedAttrs: Uint8Array;
  readonly signingTime: Date;
  /** The signer's SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  readonly sidKind: 'subjectKeyIdentifier' | 'issuerAndSerialNumber';
}

/** The parts of a compact attestation both its DER and its shell are made of. */
interface Pieces extends Omit<CompactParts, 'der'> {
  version: Uint8Array;
  digestAlgs: Uint8Array;
  signerInfos: Uint8Array;
}

/** What a signer certificate contributes to every SignerInfo it signs: the same for each of its attestations. */
interface SignerShell {
  readonly version: Uint8Array;
  /** The SignerInfo's first fields: version, sid, digestAlgorithm. */
  readonly head: Uint8Array;
  readonly spki: Uint8Array;
  readonly sidKind: 'subjectKeyIdentifier' | 'issuerAndSerialNumber';
}

/**
 * Per parsed signer certificate (`readSignerCertificate` gives the same object for the same bytes): a party signs
 * every attestation of a pallet with one certificate, so its SignerInfo head is written once.
 */
const shells = new WeakMap<ParsedCertificate, SignerShell>();

function shellOf(certificate: Uint8Array): SignerShell {
  const cert = readSignerCertificate(certificate, 'ERR_BUNDLE_ATTESTATION');
  let shell = shells.get(cert.certificate);
  if (!shell) {
    if (!startsWith(readOne(cert.spki).value, P256_ALG)) throw bad('the compact form needs a P-256 signer key');
    const ski = cert.subjectKeyId;
    const version = smallInt(ski ? 3 : 1);
    const sid = ski ? tlv(0x80, ski) : seq(cert.issuer, cert.serial);
    const head = new Uint8Array(version.length + sid.length + SHA256_ALG.length);
    put(head, put(head, put(head, 0, version), sid), SHA256_ALG);
    shell = { version, head, spki: cert.spki, sidKind: ski ? 'subjectKeyIdentifier' : 'issuerAndSerialNumber' };
    shells.set(cert.certificate, shell);
  }
  return shell;
}

/** Writes `n` as `width` ASCII digits at `p`; returns the position after them. */
function digits(out: Uint8Array, p: number, n: number, width: number): number {
  for (let i = width - 1; i >= 0; i--, n = Math.floor(n / 10)) out[p + i] = 0x30 + (n % 10);
  return p + width;
}

/**
 * `SignedAttributes` as signed (SET OF, tag 0x31) in one allocation: contentType, signingTime, messageDigest. That
 * is their DER order (X.690 11.6 sorts a SET OF by encoding, and the three differ first in their length octet:
 * 0x18, 0x1c or 0x1e, 0x2f), the order `setOf` gives them and the signer writes.
 */
function signedAttributes(signingTime: Date, messageDigest: Uint8Array): Uint8Array {
  const y = signingTime.getUTCFullYear();
  // RFC 5652 11.3: UTCTime for 1950 to 2049, GeneralizedTime otherwise (rare: written the general way).
  const general = y < 1950 || y > 2049 ? attribute(OID.signingTime, generalizedTime(signingTime)) : undefined;
  const timeLen = general ? general.length : UTC_TIME_HEAD.length + 13;
  const body = CT_ATTR.length + timeLen + DIGEST_HEAD.length + messageDigest.length; // under 128
  const out = allocBytes(2 + body);
  out[0] = TAG.SET;
  out[1] = body;
  let p = put(out, 2, CT_ATTR);
  if (general) p = put(out, p, general);
  else {
    p = put(out, p, UTC_TIME_HEAD);
    p = digits(out, p, y % 100, 2);
    p = digits(out, p, signingTime.getUTCMonth() + 1, 2);
    p = digits(out, p, signingTime.getUTCDate(), 2);
    p = digits(out, p, signingTime.getUTCHours(), 2);
    p = digits(out, p, signingTime.getUTCMinutes(), 2);
    p = digits(out, p, signingTime.getUTCSeconds(), 2);
    out[p++] = 0x5a; // Z
  }
  p = put(out, p, DIGEST_HEAD);
  put(out, p, messageDigest);
  return out;
}

/** `SET OF SignerInfo` with the one SignerInfo, in one allocation (signedAttrs as [0] IMPLICIT). */
function signerInfosOf(shell: SignerShell, signedAttrs: Uint8Array, signature: Uint8Array): Uint8Array {
  const sigLen = hdrLen(signature.length) + signature.length;
  const siBody = shell.head.length + signedAttrs.length + ECDSA_SHA256_ALG.length + sigLen;
  const siLen = hdrLen(siBody) + siBody;
  const out = allocBytes(hdrLen(siLen) + siLen);
  let p = writeHdr(out, 0, TAG.SET, siLen);
  p = writeHdr(out, p, TAG.SEQUENCE, siBody);
  p = put(out, p, shell.head);
  out[p] = 0xa0; // signedAttrs [0] IMPLICIT SET OF Attribute
  out.set(signedAttrs.subarray(1), p + 1);
  p += signedAttrs.length;
  p = put(out, p, ECDSA_SHA256_ALG);
  p = writeHdr(out, p, TAG.OCTET_STRING, signature.length);
  put(out, p, signature);
  return out;
}

function piecesOf(signature: Uint8Array, statement: Statement, certificate: Uint8Array, sha256: Sha256, validated = false): Pieces {
  const shell = shellOf(certificate);
  const signingTime = new Date(statement.predicate.time);
  if (Number.isNaN(signingTime.getTime())) throw bad('the statement time is not a time');
  const content = validated ? encodeCheckedStatement(statement) : encodeStatement(statement);
  const messageDigest = sha256(content);
  const signedAttrs = signedAttributes(signingTime, messageDigest);
  const signerInfos = signerInfosOf(shell, signedAttrs, signature);
  return {
    version: shell.version,
    digestAlgs: DIGEST_ALGS,
    signerInfos,
    content,
    messageDigest,
    signedAttrs,
    signingTime,
    spki: shell.spki,
    sidKind: shell.sidKind,
  };
}

/**
 * The attestation DER around `p`, written in one allocation (nested `seq` calls would copy the kilobyte of
 * statement and certificate once per level):
 * `SEQUENCE { signedData, [0] { SEQUENCE { version, digestAlgs, SEQUENCE { data, [0] { OCTET STRING content } },
 * [0] IMPLICIT certificate, signerInfos } } }`.
 */
function writeDER(p: Pieces, certificate: Uint8Array): Uint8Array {
  const octet = hdrLen(p.content.length) + p.content.length;
  const eContent = hdrLen(octet) + octet;
  const encapBody = DATA.length + eContent;
  const certs = hdrLen(certificate.length) + certificate.length;
  const sdBody = p.version.length + p.digestAlgs.length + hdrLen(encapBody) + encapBody + certs + p.signerInfos.length;
  const explicitBody = hdrLen(sdBody) + sdBody;
  const ciBody = SIGNED_DATA.length + hdrLen(explicitBody) + explicitBody;
  const out = allocBytes(hdrLen(ciBody) + ciBody);
  let at = writeHdr(out, 0, TAG.SEQUENCE, ciBody);
  at = put(out, at, SIGNED_DATA);
  at = writeHdr(out, at, 0xa0, explicitBody);
  at = writeHdr(out, at, TAG.SEQUENCE, sdBody);
  at = put(out, at, p.version);
  at = put(out, at, p.digestAlgs);
  at = writeHdr(out, at, TAG.SEQUENCE, encapBody);
  at = put(out, at, DATA);
  at = writeHdr(out, at, 0xa0, octet);
  at = writeHdr(out, at, TAG.OCTET_STRING, p.content.length);
  at = put(out, at, p.content);
  at = writeHdr(out, at, 0xa0, certificate.length);
  at = put(out, at, certificate);
  put(out, at, p.signerInfos);
  return out;
}

/**
 * Rebuilds every part of a compact attestation. The DER is written by one canonical writer from validated parts,
 * so it is exactly what the strict parser accepts for them.
 * `validated`: `statement` is what `validateStatement` returned a moment before, held by the caller alone (see
 * `encodeCheckedStatement`); its checks are not repeated.
 * @throws ERR_BUNDLE_ATTESTATION when the signer certificate is unreadable or its key is not P-256;
 *   ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for a malformed statement
 */
export function assembleCompact(
  signature: Uint8Array,
  statement: Statement,
  certificate: Uint8Array,
  sha256: Sha256 = pureSha256,
  validated = false,
): CompactParts {
  const p = piecesOf(signature, statement, certificate, sha256, validated);
  return {
    der: writeDER(p, certificate),
    content: p.content,
    messageDigest: p.messageDigest,
    signedAttrs: p.signedAttrs,
    signingTime: p.signingTime,
    spki: p.spki,
    sidKind: p.sidKind,
  };
}

/**
 * The shell a compact attestation stands for.
 * @throws as `assembleCompact`
 */
export function expandShell(signature: Uint8Array, statement: Statement, certificate: Uint8Array, sha256: Sha256 = pureSha256): Uint8Array {
  const p = piecesOf(signature, statement, certificate, sha256);
  return seq(SIGNED_DATA, explicit(0, seq(p.version, p.digestAlgs, seq(DATA), p.signerInfos)));
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && equalBytes(b.subarray(0, prefix.length), prefix);
}

/**
 * The signature of a shell when the compact form rebuilds that shell exactly; undefined otherwise.
 * @throws ERR_BUNDLE_ATTESTATION for a malformed shell
 */
export function compactSignature(shell: Uint8Array, statement: Statement, certificate: Uint8Array, sha256: Sha256 = pureSha256): Uint8Array | undefined {
  const parts = readShell(shell);
  const si = readOne(parts.signerInfos.value, TAG.SEQUENCE);
  const fields = children(si.value);
  const sig = fields[fields.length - 1];
  if (!sig || sig.tag !== TAG.OCTET_STRING) return undefined;
  try {
    return equalBytes(expandShell(sig.value, statement, certificate, sha256), shell) ? sig.value.slice() : undefined;
  } catch {
    return undefined;
  }
}
