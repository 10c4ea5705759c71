/**
 * Constants and byte-writing helpers shared by the attestation signer (`cms-sign.ts`) and parser
 * (`cms-parse.ts`). Internal to attestation/: not for the package barrel. See `cms.ts` for the structure.
 */
import { OID } from '../asn1/oids.js';
import { oid, seq, setOf } from '../asn1/der.js';
import type { CryptoProvider, CurveName, HashName, SyncCrypto } from '../crypto/provider.js';

/** How the SignerInfo names its certificate. */
export type SignerIdKind = 'subjectKeyIdentifier' | 'issuerAndSerialNumber';

/** The provider's synchronous capability (`CryptoProvider.sync`), used when present (the fast path). */
export type SyncProvider = SyncCrypto;

/** The provider's declared synchronous operations, else undefined. */
export function syncOf(p: CryptoProvider): SyncProvider | undefined {
  return p.sync;
}

/** Digest algorithm, signature algorithm and curve OIDs, and digest lengths, by name. */
export const HASH_OID: Record<HashName, string> = { 'SHA-256': OID.sha256, 'SHA-384': OID.sha384 };
export const SIG_OID: Record<HashName, string> = { 'SHA-256': OID.ecdsaWithSHA256, 'SHA-384': OID.ecdsaWithSHA384 };
export const CURVE_OID: Record<string, CurveName> = { [OID.prime256v1]: 'P-256', [OID.secp384r1]: 'P-384' };
export const HASH_LEN: Record<HashName, number> = { 'SHA-256': 32, 'SHA-384': 48 };
/** The eContentType of every attestation: id-data (why: `cms.ts`). */
export const CONTENT_TYPE = OID.data;

/** `AlgorithmIdentifier ::= SEQUENCE { algorithm OID }`, parameters absent (RFC 5754 2, RFC 5758 3.2). */
export const algId = (dotted: string): Uint8Array => seq(oid(dotted));
/** `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF AttributeValue }` with one value (RFC 5652 5.3). */
export const attribute = (type: string, value: Uint8Array): Uint8Array => seq(oid(type), setOf(value));

/** Length of a DER header with a one-byte tag for `len` content bytes. */
export function hdrLen(len: number): number {
  return len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : 5;
}

/** Writes a one-byte tag and a DER length at `p`; returns the position after them. */
export function writeHdr(buf: Uint8Array, p: number, tag: number, len: number): number {
  buf[p++] = tag;
  if (len < 0x80) buf[p++] = len;
  else if (len < 0x100) {
    buf[p++] = 0x81;
    buf[p++] = len;
  } else if (len < 0x10000) {
    buf[p++] = 0x82;
    buf[p++] = len >>> 8;
    buf[p++] = len & 0xff;
  } else {
    buf[p++] = 0x83;
    buf[p++] = len >>> 16;
    buf[p++] = (len >>> 8) & 0xff;
    buf[p++] = len & 0xff;
  }
  return p;
}

/** Copies `b` to `p`; returns the position after it. */
export function put(buf: Uint8Array, p: number, b: Uint8Array): number {
  buf.set(b, p);
  return p + b.length;
}
