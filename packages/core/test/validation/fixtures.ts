/**
 * Fixture builder for the validation tests: X.509 certificates and CRLs written with the core DER writer and
 * signed with node:crypto, from fixed P-256 keys, fixed serials and fixed dates, so that each test can bend exactly
 * one field (a critical unknown extension, a BER signature, a pathLen) and nothing else.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import {
  bitString,
  boolean,
  explicit,
  generalizedTime,
  ia5String,
  implicitPrimitive,
  octetString,
  oid,
  seq,
  setOf,
  smallInt,
  tlv,
  utf8String,
  x509Time,
} from '../../src/asn1/der.js';
import { OID } from '../../src/asn1/oids.js';
import { fromBase64 } from '../../src/util/bytes.js';

const FIXED_KEYS = [
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwmm/EPuBU5VtudOUD+Itfpva4hmnAbfQFFvQ9TO3nWKhRANCAAQ7BEOwjO4HrDQ3Kp9nzeq8r8043jjV8rMN3bpHTpy6KlfgaP2fEHflNq2WYoVLN3pGawYdIj/34Ol3VxOvU9Zg',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSlo2a5DXlVmuS2j0HiI8vEX1WvvsK/3mrWEh2dRMbPGhRANCAASkuYyKJgqbB1kzBPns6oE2ssZPokuDtcc4Mn13opxutWwsz5JGZYZ7dZuF1cSwF8aGICH4DgQP0Zzy3BpA1aO/',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcQ3cVJnjZnaenkZ42efTni+aGixejHpt2GMH2pu0oZWhRANCAAQk4INQ16O8KBwk7Wna2T/pJSZcQPWT3GNyAO84LNTam5JgbGMJR7qSErfPu6yiXvjkbZw+Nn4KnIkuyluF0vVH',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6X6FipZalGp1pGIep+Gv6YOsOFzYbrlHVyjHcq4M7bihRANCAAR3R2DmNdZGJhGiVeDoNV3Czx9w5CyE26TzcaDMVcrWV3qlyAaaGQml/Hs4n0Zvu8YPQyU0LDclI8x7zS/uFKu6',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeb5opVSJvRYzWDVUt7zpKgEbdWxgl5quVP+/Q9OtPe2hRANCAATXYFM1frlGnJZa0b+GRcBaU/Idn1c7yA+uU70Qo+C6C3b8CBI7R5CzznU50jfqHkNyp7ju0Y5tGRAweJ4DNUPA',
];

/** A fixture key: the private KeyObject and its DER SPKI. */
export interface FixtureKey {
  readonly key: KeyObject;
  readonly spki: Uint8Array;
}

function wrap(key: KeyObject): FixtureKey {
  return { key, spki: new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' })) };
}

/** Fixed key number `i` (0..4). */
export function fixedKey(i: number): FixtureKey {
  return wrap(createPrivateKey({ key: Buffer.from(fromBase64(FIXED_KEYS[i]!)!), format: 'der', type: 'pkcs8' }));
}

/** A fresh P-256 key (for tests that need many keys, such as the hostile mesh). */
export function freshKey(): FixtureKey {
  return wrap(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
}

/** Key identifier: first 20 bytes of SHA-256 over the SPKI (RFC 7093 method 1 style). */
export function keyId(k: FixtureKey): Uint8Array {
  return new Uint8Array(createHash('sha256').update(k.spki).digest()).subarray(0, 20);
}

/** Name `CN=<cn>` (UTF8String). */
export function cnName(cn: string): Uint8Array {
  return seq(setOf(seq(oid(OID.commonName), utf8String(cn))));
}

/** One extension. */
export function ext(oidStr: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(oidStr), boolean(true), octetString(value)) : seq(oid(oidStr), octetString(value));
}

const KU_BITS = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign'];

function keyUsageValue(bits: readonly string[]): Uint8Array {
  let v = 0;
  for (const b of bits) v |= 0x80 >> KU_BITS.indexOf(b);
  let unused = 0;
  while (unused < 7 && !(v & (1 << unused))) unused++;
  return tlv(0x03, Uint8Array.of(unused, v));
}

/** What a fixture certificate says. Defaults: end entity, valid 2024-01-01 to 2034-01-01, serial 1. */
export interface CertSpec {
  readonly subject: string | Uint8Array;
  readonly key: FixtureKey;
  /** Issuer name and key; the certificate is self-signed when absent. */
  readonly issuer?: { readonly name: string | Uint8Array; readonly key: FixtureKey };
  readonly serial?: number;
  readonly notBefore?: Date;
  /** A Date, or the DER of a Time (e.g. `generalizedTime(...)`). */
  readonly notAfter?: Date | Uint8Array;
  readonly ca?: boolean;
  readonly pathLen?: number;
  readonly keyUsage?: readonly string[];
  readonly eku?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly permittedDNS?: readonly string[];
  readonly excludedDNS?: readonly string[];
  readonly extraExtensions?: readonly Uint8Array[];
  /** Rewrites the DER ECDSA signature before it is embedded (e.g. to make it BER). */
  readonly tweakSignature?: (sig: Uint8Array) => Uint8Array;
}

const ECDSA_SHA256 = seq(oid(OID.ecdsaWithSHA256));

function nameDER(n: string | Uint8Array): Uint8Array {
  return typeof n === 'string' ? cnName(n) : n;
}

/** Builds and signs a certificate from `spec`. */
export function issueCert(spec: CertSpec): Uint8Array {
  const issuerKey = spec.issuer?.key ?? spec.key;
  const issuerName = nameDER(spec.issuer?.name ?? spec.subject);
  const exts: Uint8Array[] = [];
  if (spec.ca) exts.push(ext(OID.basicConstraints, true, seq(boolean(true), ...(spec.pathLen !== undefined ? [smallInt(spec.pathLen)] : []))));
  exts.push(ext(OID.keyUsage, true, keyUsageValue(spec.keyUsage ?? (spec.ca ? ['keyCertSign', 'cRLSign'] : ['digitalSignature']))));
  if (spec.eku) exts.push(ext(OID.extKeyUsage, false, seq(...spec.eku.map((e) => oid(e)))));
  exts.push(ext(OID.subjectKeyIdentifier, false, octetString(keyId(spec.key))));
  if (spec.issuer) exts.push(ext(OID.authorityKeyIdentifier, false, seq(implicitPrimitive(0, keyId(issuerKey)))));
  if (spec.dnsNames) exts.push(ext(OID.subjectAltName, false, seq(...spec.dnsNames.map((d) => implicitPrimitive(2, ia5String(d).subarray(2))))));
  if (spec.permittedDNS || spec.excludedDNS) {
    const subtrees = (names: readonly string[]) => names.map((d) => seq(implicitPrimitive(2, ia5String(d).subarray(2))));
    exts.push(
      ext(
        OID.nameConstraints,
        true,
        seq(...(spec.permittedDNS ? [tlv(0xa0, ...subtrees(spec.permittedDNS))] : []), ...(spec.excludedDNS ? [tlv(0xa1, ...subtrees(spec.excludedDNS))] : [])),
      ),
    );
  }
  exts.push(...(spec.extraExtensions ?? []));
  const notAfter = spec.notAfter ?? new Date('2034-01-01T00:00:00Z');
  const tbs = seq(
    explicit(0, smallInt(2)),
    smallInt(spec.serial ?? 1),
    ECDSA_SHA256,
    issuerName,
    seq(x509Time(spec.notBefore ?? new Date('2024-01-01T00:00:00Z')), notAfter instanceof Date ? x509Time(notAfter) : notAfter),
    nameDER(spec.subject),
    spec.key.spki,
    explicit(3, seq(...exts)),
  );
  let sig = new Uint8Array(sign('sha256', tbs, issuerKey.key));
  if (spec.tweakSignature) sig = spec.tweakSignature(sig);
  return seq(tbs, ECDSA_SHA256, bitString(sig));
}

/** A CA spec shortcut. */
export function caSpec(subject: string, key: FixtureKey, issuer?: { name: string; key: FixtureKey }, more: Partial<CertSpec> = {}): CertSpec {
  return { subject, key, ca: true, ...(issuer ? { issuer } : {}), ...more };
}

/** What a fixture CRL says. */
export interface CRLSpec {
  readonly issuer: string;
  readonly key: FixtureKey;
  readonly revokedSerials?: readonly number[];
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date;
  readonly crlNumber?: number;
}

/** Builds and signs a v2 CRL with CRLNumber and AKI. */
export function issueCRL(spec: CRLSpec): Uint8Array {
  const revoked = (spec.revokedSerials ?? []).map((s) => seq(smallInt(s), x509Time(new Date('2024-06-01T00:00:00Z'))));
  const tbs = seq(
    smallInt(1),
    ECDSA_SHA256,
    cnName(spec.issuer),
    x509Time(spec.thisUpdate ?? new Date('2024-06-01T00:00:00Z')),
    x509Time(spec.nextUpdate ?? new Date('2034-01-01T00:00:00Z')),
    ...(revoked.length > 0 ? [seq(...revoked)] : []),
    explicit(
      0,
      seq(ext(OID.authorityKeyIdentifier, false, seq(implicitPrimitive(0, keyId(spec.key)))), ext(OID.crlNumber, false, smallInt(spec.crlNumber ?? 1))),
    ),
  );
  return seq(tbs, ECDSA_SHA256, bitString(new Uint8Array(sign('sha256', tbs, spec.key.key))));
}

/** GeneralizedTime 99991231235959Z: "no well-defined expiration" (RFC 5280 4.1.2.5). */
export const NO_EXPIRY = generalizedTime(new Date(Date.UTC(9999, 11, 31, 23, 59, 59)));

/** Re-encodes a DER ECDSA signature with a superfluous leading zero in r (valid BER, not DER). */
export function berSignature(sig: Uint8Array): Uint8Array {
  const rLen = sig[3]!;
  const r = sig.subarray(4, 4 + rLen);
  const rest = sig.subarray(4 + rLen);
  const body = new Uint8Array([0x02, rLen + 1, 0x00, ...r, ...rest]);
  return new Uint8Array([0x30, body.length, ...body]);
}

/** A standard three-level device chain: root (key 0) -> issuing CA (key 1, pathLen 0) -> device (key 2). */
export function deviceChain(leafMore: Partial<CertSpec> = {}): { root: Uint8Array; issuing: Uint8Array; leaf: Uint8Array } {
  const root = issueCert(caSpec('Custody Test Root', fixedKey(0)));
  const issuing = issueCert(caSpec('Custody Test Issuing CA', fixedKey(1), { name: 'Custody Test Root', key: fixedKey(0) }, { pathLen: 0, serial: 2 }));
  const leaf = issueCert({
    subject: 'device-0042',
    key: fixedKey(2),
    issuer: { name: 'Custody Test Issuing CA', key: fixedKey(1) },
    serial: 42,
    notAfter: NO_EXPIRY,
    ...leafMore,
  });
  return { root, issuing, leaf };
}
