/**
 * Signing attestations: a signer prepared once per party key, then one digest, one signature and one copy per
 * attestation. The structure written and the choices behind it are described in `cms.ts`.
 */
import { OID } from '../asn1/oids.js';
import { oid, seq, setOf, smallInt, TAG, tlv } from '../asn1/der.js';
import type { CryptoProvider, CurveName, HashName, PrivateKeyHandle } from '../crypto/provider.js';
import { curveBytes, curveHash } from '../crypto/provider.js';
import { toLowS } from '../crypto/ecdsa-signature.js';
import { CustodyError } from '../errors.js';
import { concatBytes, equalBytes, toHex } from '../util/bytes.js';
import { allocBytes } from '../util/slab.js';
import {
  algId,
  attribute,
  CONTENT_TYPE,
  HASH_LEN,
  HASH_OID,
  hdrLen,
  put,
  SIG_OID,
  syncOf,
  writeHdr,
  type SignerIdKind,
  type SyncProvider,
} from './cms-common.js';
import { readSignerCertificate } from './signer-certificate.js';
import { encodeStatement, type Statement } from './statement.js';

/**
 * A signer prepared once per party key: the certificate, the sid, the algorithm identifiers and every
 * constant byte of the SignedData, so that each attestation costs one digest, one signature and one copy.
 * Build it with `createAttestationSigner`.
 */
export interface AttestationSigner {
  readonly certificate: Uint8Array;
  readonly key: PrivateKeyHandle;
  readonly provider: CryptoProvider;
  readonly curve: CurveName;
  readonly hash: HashName;
  readonly sidKind: SignerIdKind;
  /** Hex SHA-256 of the signer's SPKI DER: the `from` of every statement this signer signs. */
  readonly spkiSha256: string;
  /** @internal precomputed DER pieces */
  readonly parts: SignerParts;
}

interface SignerParts {
  /** SignedData version, digestAlgorithms, and the eContentType OID (everything before eContent [0]). */
  sdHead: Uint8Array;
  /** certificates [0] IMPLICIT holding the one certificate. */
  certs: Uint8Array;
  /** SignerInfo version, sid, digestAlgorithm. */
  siHead: Uint8Array;
  /** signatureAlgorithm. */
  sigAlg: Uint8Array;
  /** The content-type attribute (constant). */
  attrContentType: Uint8Array;
  /** The signing-time attribute up to (not including) the 13 UTCTime characters. */
  attrTimeUtcHead: Uint8Array;
  /** The message-digest attribute up to (not including) the digest bytes. */
  attrDigestHead: Uint8Array;
  sync: SyncProvider | undefined;
}

/** What `createAttestationSigner` needs. */
export interface AttestationSignerInput {
  /** DER of the party's attestation certificate. */
  certificate: Uint8Array;
  /** The private key matching the certificate. */
  key: PrivateKeyHandle;
  provider: CryptoProvider;
  /** Force a signer identifier; default: subjectKeyIdentifier when the certificate has one. */
  sidKind?: SignerIdKind;
  /**
   * CA certificates (DER, no root) carried after the signer's, for signed documents whose readers hold only the
   * root (release manifests); attestations carry none.
   */
  chain?: readonly Uint8Array[];
}

function signerError(msg: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_ATTESTATION_SIGNER', `attestation signer: ${msg}`, cause === undefined ? {} : { cause });
}

/**
 * Prepares a signer for one party certificate and key (do this once, then sign many attestations).
 * @throws ERR_ATTESTATION_SIGNER when the certificate cannot be read, does not hold the key's public key,
 *   or has no subjectKeyIdentifier while one is asked for
 */
export async function createAttestationSigner(input: AttestationSignerInput): Promise<AttestationSigner> {
  const { certificate, key, provider } = input;
  const cert = readSignerCertificate(certificate, 'ERR_ATTESTATION_SIGNER');
  if (!equalBytes(cert.spki, key.spki)) throw signerError('the certificate does not hold the public key of the private key given');
  const sidKind: SignerIdKind = input.sidKind ?? (cert.subjectKeyId ? 'subjectKeyIdentifier' : 'issuerAndSerialNumber');
  let sid: Uint8Array;
  if (sidKind === 'subjectKeyIdentifier') {
    if (!cert.subjectKeyId) throw signerError('the certificate has no subjectKeyIdentifier extension');
    sid = tlv(0x80, cert.subjectKeyId);
  } else {
    sid = seq(cert.issuer, cert.serial); // IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber }
  }
  const hash = curveHash(key.curve);
  const version = smallInt(sidKind === 'subjectKeyIdentifier' ? 3 : 1);
  const sync = syncOf(provider);
  const spkiSha256 = toHex(sync ? sync.digestSync('SHA-256', cert.spki) : await provider.digest('SHA-256', cert.spki));
  const md = attribute(OID.messageDigest, tlv(TAG.OCTET_STRING, new Uint8Array(HASH_LEN[hash])));
  const st = attribute(OID.signingTime, tlv(TAG.UTC_TIME, new Uint8Array(13)));
  const parts: SignerParts = {
    sdHead: seqContent(smallInt(CONTENT_TYPE === OID.data && sidKind === 'issuerAndSerialNumber' ? 1 : 3), setOf(algId(HASH_OID[hash]))),
    certs: tlv(0xa0, input.chain?.length ? concatBytes(certificate, ...input.chain) : certificate),
    siHead: seqContent(version, sid, algId(HASH_OID[hash])),
    sigAlg: algId(SIG_OID[hash]),
    attrContentType: attribute(OID.contentType, oid(CONTENT_TYPE)),
    attrTimeUtcHead: st.subarray(0, st.length - 13),
    attrDigestHead: md.subarray(0, md.length - HASH_LEN[hash]),
    sync,
  };
  return { certificate, key, provider, curve: key.curve, hash, sidKind, spkiSha256, parts };
}

function seqContent(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) o = put(out, o, p);
  return out;
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** A signing time in its DER: the 13 UTCTime digits, or else the whole signingTime attribute (GeneralizedTime). */
interface EncodedTime {
  ms: number;
  utc: boolean;
  bytes: Uint8Array;
}

/** The last time encoded: a batch signs all its attestations with one time, and encodes it once. */
let lastTime: EncodedTime | undefined;

function encodeSigningTime(time: Date): EncodedTime {
  const ms = time.getTime();
  if (lastTime?.ms === ms) return lastTime;
  const y = time.getUTCFullYear();
  if (Number.isNaN(y)) throw new TypeError('signingTime is an invalid Date');
  // RFC 5652 11.3: UTCTime for 1950 to 2049, GeneralizedTime otherwise.
  const utc = y >= 1950 && y <= 2049;
  const stamp =
    (utc ? pad2(y % 100) : String(y).padStart(4, '0')) +
    pad2(time.getUTCMonth() + 1) +
    pad2(time.getUTCDate()) +
    pad2(time.getUTCHours()) +
    pad2(time.getUTCMinutes()) +
    pad2(time.getUTCSeconds()) +
    'Z';
  lastTime = { ms, utc, bytes: utc ? asciiBytes(stamp) : attribute(OID.signingTime, tlv(TAG.GENERALIZED_TIME, asciiBytes(stamp))) };
  return lastTime;
}

/** SignedAttributes as signed: `SET OF Attribute` with tag 0x31 (RFC 5652 5.4). */
function signedAttrsFor(s: AttestationSigner, digest: Uint8Array, time: Date): Uint8Array {
  const P = s.parts;
  const t = encodeSigningTime(time);
  const timeLen = t.utc ? P.attrTimeUtcHead.length + t.bytes.length : t.bytes.length;
  const body = P.attrContentType.length + timeLen + P.attrDigestHead.length + digest.length;
  const out = allocBytes(2 + body); // body < 128: content-type 24 + time <= 30 + digest <= 63
  out[0] = TAG.SET;
  out[1] = body;
  let p = put(out, 2, P.attrContentType);
  if (t.utc) p = put(out, p, P.attrTimeUtcHead);
  p = put(out, p, t.bytes);
  p = put(out, p, P.attrDigestHead);
  put(out, p, digest);
  return out;
}

/**
 * P1363 r || s to `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 2.2.3) in one allocation;
 * the same bytes as `ecdsaP1363ToDER`, without its intermediate arrays (this runs once per attestation). The
 * signature is taken in its low-S form whoever made it (a provider outside custody, a worker thread): parsers
 * refuse the high-S twin.
 */
function p1363ToDER(signature: Uint8Array, curve: CurveName): Uint8Array {
  const sig = toLowS(signature, curve);
  const w = sig.length >>> 1;
  let r = 0;
  while (r < w - 1 && sig[r] === 0) r++;
  let s = w;
  while (s < 2 * w - 1 && sig[s] === 0) s++;
  const rPad = sig[r]! & 0x80 ? 1 : 0;
  const sPad = sig[s]! & 0x80 ? 1 : 0;
  const rLen = w - r + rPad;
  const sLen = 2 * w - s + sPad;
  const body = 2 + rLen + 2 + sLen; // P-256/P-384 integers are under 128 bytes
  const out = allocBytes(hdrLen(body) + body);
  let p = writeHdr(out, 0, TAG.SEQUENCE, body);
  out[p++] = TAG.INTEGER;
  out[p++] = rLen;
  p += rPad;
  out.set(sig.subarray(r, w), p);
  p += w - r;
  out[p++] = TAG.INTEGER;
  out[p++] = sLen;
  p += sPad;
  out.set(sig.subarray(s), p);
  return out;
}

function asciiBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** Writes the ContentInfo around the pieces; one allocation. */
function assemble(s: AttestationSigner, content: Uint8Array, attrs: Uint8Array, sigDER: Uint8Array): Uint8Array {
  const P = s.parts;
  const octLen = hdrLen(content.length) + content.length;
  const eContentLen = hdrLen(octLen) + octLen;
  const encapBody = OID_CONTENT_TYPE.length + eContentLen;
  const encapLen = hdrLen(encapBody) + encapBody;
  const sigLen = hdrLen(sigDER.length) + sigDER.length;
  const siBody = P.siHead.length + attrs.length + P.sigAlg.length + sigLen;
  const siLen = hdrLen(siBody) + siBody;
  const siSetLen = hdrLen(siLen) + siLen;
  const sdBody = P.sdHead.length + encapLen + P.certs.length + siSetLen;
  const sdLen = hdrLen(sdBody) + sdBody;
  const ciBody = OID_SIGNED_DATA.length + hdrLen(sdLen) + sdLen;
  const out = allocBytes(hdrLen(ciBody) + ciBody);
  let p = writeHdr(out, 0, TAG.SEQUENCE, ciBody);
  p = put(out, p, OID_SIGNED_DATA);
  p = writeHdr(out, p, 0xa0, sdLen);
  p = writeHdr(out, p, TAG.SEQUENCE, sdBody);
  p = put(out, p, P.sdHead);
  p = writeHdr(out, p, TAG.SEQUENCE, encapBody);
  p = put(out, p, OID_CONTENT_TYPE);
  p = writeHdr(out, p, 0xa0, octLen);
  p = writeHdr(out, p, TAG.OCTET_STRING, content.length);
  p = put(out, p, content);
  p = put(out, p, P.certs);
  p = writeHdr(out, p, TAG.SET, siLen);
  p = writeHdr(out, p, TAG.SEQUENCE, siBody);
  p = put(out, p, P.siHead);
  const attrsAt = p;
  p = put(out, p, attrs);
  out[attrsAt] = 0xa0; // signedAttrs [0] IMPLICIT in the SignerInfo; signed as SET OF (0x31)
  p = put(out, p, P.sigAlg);
  p = writeHdr(out, p, TAG.OCTET_STRING, sigDER.length);
  put(out, p, sigDER);
  return out;
}

const OID_SIGNED_DATA = oid(OID.signedData);
const OID_CONTENT_TYPE = oid(CONTENT_TYPE);

function prepare(signer: AttestationSigner, statement: Statement): Uint8Array {
  if (statement.predicate?.from !== signer.spkiSha256) {
    throw signerError(`statement "from" is ${String(statement.predicate?.from)}, but this signer's key is ${signer.spkiSha256}`);
  }
  return encodeStatement(statement);
}

/**
 * Signs a statement into an attestation (DER ContentInfo). Works with any provider.
 * @throws ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for a malformed statement; ERR_ATTESTATION_SIGNER when the
 *   statement's `from` is not this signer's key
 */
export async function signAttestation(signer: AttestationSigner, statement: Statement, signingTime: Date): Promise<Uint8Array> {
  return signEncodedStatement(signer, prepare(signer, statement), signingTime);
}

/**
 * `signAttestation` without a promise, for providers with synchronous operations (NodeCryptoProvider).
 * @throws TypeError when the signer's provider has no synchronous operations; otherwise as `signAttestation`
 */
export function signAttestationSync(signer: AttestationSigner, statement: Statement, signingTime: Date): Uint8Array {
  if (!signer.parts.sync) throw new TypeError(`provider "${signer.provider.name}" has no synchronous operations; use signAttestation`);
  return signEncodedStatementSync(signer, prepare(signer, statement), signingTime);
}

/**
 * Signs statement bytes already in their one encoding (from `encodeStatement` or `createStatementEncoder`, with
 * this signer's key as `from`): the batch path, which validates the shared fields once.
 */
export async function signEncodedStatement(signer: AttestationSigner, content: Uint8Array, signingTime: Date): Promise<Uint8Array> {
  if (signer.parts.sync) return signEncodedStatementSync(signer, content, signingTime);
  const attrs = signedAttrsFor(signer, await signer.provider.digest(signer.hash, content), signingTime);
  const sig = await signer.provider.sign(signer.key, attrs);
  return assemble(signer, content, attrs, p1363ToDER(sig, signer.curve));
}

/**
 * `signEncodedStatement` without a promise.
 * @throws TypeError when the signer's provider has no synchronous operations
 */
export function signEncodedStatementSync(signer: AttestationSigner, content: Uint8Array, signingTime: Date): Uint8Array {
  const unsigned = prepareEncodedStatement(signer, content, signingTime);
  return unsigned.complete(signer.parts.sync!.signSync(signer.key, unsigned.toBeSigned));
}

/** An attestation with everything but its signature: `prepareEncodedStatement`. */
export interface UnsignedAttestation {
  /** The DER SignedAttributes (tag 0x31, RFC 5652 5.4): what the signer's key signs, with the signer's hash. */
  readonly toBeSigned: Uint8Array;
  /**
   * The attestation DER, given the signature of `toBeSigned` in P1363 form (r || s), as a CryptoProvider returns
   * it. A batch may have it made elsewhere (a worker thread holding the same key). A high-S signature is written
   * in its low-S form.
   * @throws TypeError for a signature of the wrong length for the signer's curve
   */
  complete(signature: Uint8Array): Uint8Array;
}

/**
 * Digests the statement bytes and builds the signed attributes, leaving the signature to the caller: the part
 * of `signEncodedStatementSync` that is not the private-key operation.
 * @throws TypeError when the signer's provider has no synchronous operations
 */
export function prepareEncodedStatement(signer: AttestationSigner, content: Uint8Array, signingTime: Date): UnsignedAttestation {
  const sync = signer.parts.sync;
  if (!sync) throw new TypeError(`provider "${signer.provider.name}" has no synchronous operations; use signEncodedStatement`);
  const attrs = signedAttrsFor(signer, sync.digestSync(signer.hash, content), signingTime);
  const width = 2 * curveBytes(signer.curve);
  return {
    toBeSigned: attrs,
    complete(signature) {
      if (signature.length !== width) throw new TypeError(`a ${signer.curve} signature is ${width} bytes in P1363 form, not ${signature.length}`);
      return assemble(signer, content, attrs, p1363ToDER(signature, signer.curve));
    },
  };
}
