/**
 * Decoders for the certificate extensions the validator processes (RFC 5280 4.2). Each takes the content of
 * `extnValue` (the DER inside the OCTET STRING) and throws ERR_CERT_PARSE on malformed input.
 */
import { CustodyError } from '../errors.js';
import { checkDER, children, MAX_CHILDREN, readOID, readOIDAt, readOne, readSmallInt, readSpan, TAG, type TLV } from '../asn1/der.js';
import { parseGeneralName, parseGeneralNames, type GeneralName } from './general-name.js';

/** `BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }` */
export interface BasicConstraints {
  readonly cA: boolean;
  readonly pathLen?: number;
}

/** KeyUsage named bits (RFC 5280 4.2.1.3), in bit order. */
export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

/** One KeyUsage bit name. */
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number];

/** `AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0], authorityCertIssuer [1], authorityCertSerialNumber [2] }` */
export interface AuthorityKeyIdentifier {
  readonly keyIdentifier?: Uint8Array;
  readonly authorityCertIssuer?: GeneralName[];
  readonly authorityCertSerialNumber?: Uint8Array;
}

/** `GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] BaseDistance DEFAULT 0, maximum [1] OPTIONAL }` */
export interface GeneralSubtree {
  readonly base: GeneralName;
  readonly minimum: number;
  readonly maximum?: number;
}

/** `NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL, excludedSubtrees [1] ... }` */
export interface NameConstraints {
  readonly permitted?: GeneralSubtree[];
  readonly excluded?: GeneralSubtree[];
}

/** One Extension as found in the certificate: `SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }`. */
export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

function bad(what: string): CustodyError {
  return new CustodyError('ERR_CERT_PARSE', what);
}

/** Strict DER BOOLEAN. */
export function readBoolean(t: TLV): boolean {
  if (t.tag !== TAG.BOOLEAN || t.value.length !== 1 || (t.value[0] !== 0 && t.value[0] !== 0xff)) throw bad('bad BOOLEAN');
  return t.value[0] === 0xff;
}

/**
 * Decodes an Extensions SEQUENCE; refuses duplicates (RFC 5280 4.2), an empty list, `critical` encoded as FALSE
 * (a DEFAULT value is omitted in DER, X.690 11.5).
 * @throws CustodyError ERR_CERT_PARSE (ERR_DER from the reader underneath)
 */
export function parseExtensions(t: TLV): Extension[] {
  if (t.tag !== TAG.SEQUENCE) throw bad('Extensions is not a SEQUENCE');
  // Spans, not views: a certificate's extensions are read on every parse, and views cost more than the checks.
  const buf = t.value;
  const out: Extension[] = [];
  const e = { tag: 0, start: 0, end: 0 };
  const f = { tag: 0, start: 0, end: 0 };
  for (let p = 0; p < buf.length; p = e.end) {
    if (out.length === MAX_CHILDREN) throw bad(`more than ${MAX_CHILDREN} extensions`);
    readSpan(buf, p, e);
    if (e.tag !== TAG.SEQUENCE) throw bad('Extension is not a SEQUENCE');
    readSpan(buf, e.start, f);
    if (f.tag !== TAG.OID) throw bad('Extension without an extnID');
    const oid = readOIDAt(buf, f.start, f.end);
    let tag = readSpan(buf, f.end < e.end ? f.end : missingValue(oid), f).tag;
    let critical = false;
    if (tag === TAG.BOOLEAN) {
      if (f.end - f.start !== 1 || buf[f.start] !== 0xff) throw bad(`extension ${oid}: critical must be TRUE when present (DER omits the DEFAULT FALSE)`);
      critical = true;
      tag = readSpan(buf, f.end < e.end ? f.end : missingValue(oid), f).tag;
    }
    if (tag !== TAG.OCTET_STRING) throw bad(`extension ${oid}: extnValue is not an OCTET STRING`);
    if (f.end !== e.end) throw bad(`extension ${oid}: unexpected fields`);
    // An unknown extension's value stays opaque (x509-limbo has an empty one that must pass); each decoder
    // below checks the value of its own extension in full.
    const value = buf.subarray(f.start, f.end);
    for (const x of out) if (x.oid === oid) throw bad(`duplicate extension ${oid}`);
    out.push({ oid, critical, value });
  }
  if (out.length === 0) throw bad('empty Extensions');
  return out;
}

function missingValue(oid: string): never {
  throw bad(`extension ${oid}: no extnValue`);
}

/** Decodes basicConstraints (RFC 5280 4.2.1.9). */
export function parseBasicConstraints(der: Uint8Array): BasicConstraints {
  const parts = children(readOne(der, TAG.SEQUENCE).value);
  let i = 0;
  let cA = false;
  if (parts[i]?.tag === TAG.BOOLEAN) {
    cA = readBoolean(parts[i]!);
    if (!cA) throw bad('basicConstraints: cA FALSE must be omitted in DER');
    i++;
  }
  let pathLen: number | undefined;
  if (parts[i]?.tag === TAG.INTEGER) pathLen = readSmallInt(parts[i++]!);
  if (i !== parts.length) throw bad('basicConstraints: unexpected fields');
  return pathLen === undefined ? { cA } : { cA, pathLen };
}

/** Decodes keyUsage (RFC 5280 4.2.1.3) into the set of asserted bits. */
export function parseKeyUsage(der: Uint8Array): Set<KeyUsageName> {
  const t = readOne(der, TAG.BIT_STRING);
  const v = t.value;
  if (v.length === 0 || v[0]! > 7 || (v.length === 1 && v[0] !== 0)) throw bad('keyUsage: bad BIT STRING');
  if (v.length > 1 && v[v.length - 1]! & ((1 << v[0]!) - 1)) throw bad('keyUsage: unused bits are not zero');
  const out = new Set<KeyUsageName>();
  for (let bit = 0; bit < (v.length - 1) * 8; bit++) {
    if (v[1 + (bit >> 3)]! & (0x80 >> (bit & 7))) {
      const name = KEY_USAGE_BITS[bit];
      if (name) out.add(name);
    }
  }
  if (out.size === 0) throw bad('keyUsage: no bit asserted');
  return out;
}

/** Decodes extKeyUsage (RFC 5280 4.2.1.12): `SEQUENCE SIZE (1..MAX) OF KeyPurposeId`. */
export function parseExtKeyUsage(der: Uint8Array): string[] {
  const oids = children(readOne(der, TAG.SEQUENCE).value).map(readOID);
  if (oids.length === 0) throw bad('extKeyUsage: empty');
  return oids;
}

/** Decodes subjectKeyIdentifier (RFC 5280 4.2.1.2). */
export function parseSubjectKeyIdentifier(der: Uint8Array): Uint8Array {
  return readOne(der, TAG.OCTET_STRING).value;
}

/** Decodes authorityKeyIdentifier (RFC 5280 4.2.1.1). */
export function parseAuthorityKeyIdentifier(der: Uint8Array): AuthorityKeyIdentifier {
  const out: { keyIdentifier?: Uint8Array; authorityCertIssuer?: GeneralName[]; authorityCertSerialNumber?: Uint8Array } = {};
  let last = -1;
  for (const p of children(readOne(der, TAG.SEQUENCE).value)) {
    const n = p.tag & 0x1f;
    if (n <= last) throw bad('authorityKeyIdentifier: fields out of order');
    last = n;
    if (p.tag === 0x80) out.keyIdentifier = p.value;
    else if (p.tag === 0xa1) {
      const names = children(p.value).map(parseGeneralName);
      if (names.length === 0) throw bad('authorityKeyIdentifier: empty authorityCertIssuer');
      out.authorityCertIssuer = names;
    } else if (p.tag === 0x82) out.authorityCertSerialNumber = p.value;
    else throw bad('authorityKeyIdentifier: unexpected field');
  }
  return out;
}

/** Decodes subjectAltName (RFC 5280 4.2.1.6). */
export function parseSubjectAltName(der: Uint8Array): GeneralName[] {
  return parseGeneralNames(der);
}

function parseSubtrees(t: TLV): GeneralSubtree[] {
  const out: GeneralSubtree[] = [];
  for (const s of children(t.value)) {
    if (s.tag !== TAG.SEQUENCE) throw bad('nameConstraints: GeneralSubtree is not a SEQUENCE');
    const parts = children(s.value);
    if (parts.length === 0) throw bad('nameConstraints: empty GeneralSubtree');
    const base = parseGeneralName(parts[0]!);
    let minimum = 0;
    let maximum: number | undefined;
    for (const p of parts.slice(1)) {
      if (p.tag === 0x80) minimum = readSmallInt({ ...p, tag: TAG.INTEGER });
      else if (p.tag === 0x81) maximum = readSmallInt({ ...p, tag: TAG.INTEGER });
      else throw bad('nameConstraints: unexpected GeneralSubtree field');
    }
    out.push(maximum === undefined ? { base, minimum } : { base, minimum, maximum });
  }
  if (out.length === 0) throw bad('nameConstraints: empty GeneralSubtrees');
  return out;
}

/** Decodes nameConstraints (RFC 5280 4.2.1.10); at least one of the two subtree lists must be present. */
export function parseNameConstraints(der: Uint8Array): NameConstraints {
  const parts = children(readOne(der, TAG.SEQUENCE).value);
  const out: { permitted?: GeneralSubtree[]; excluded?: GeneralSubtree[] } = {};
  let last = -1;
  for (const p of parts) {
    const n = p.tag === 0xa0 ? 0 : p.tag === 0xa1 ? 1 : -1;
    if (n <= last) throw bad('nameConstraints: unexpected field');
    last = n;
    if (n === 0) out.permitted = parseSubtrees(p);
    else out.excluded = parseSubtrees(p);
  }
  if (!out.permitted && !out.excluded) throw bad('nameConstraints: neither permitted nor excluded subtrees');
  return out;
}

/** Decodes certificatePolicies (RFC 5280 4.2.1.4) to the policy OIDs; qualifiers are kept opaque. */
export function parseCertificatePolicies(der: Uint8Array): string[] {
  const out: string[] = [];
  for (const p of children(readOne(der, TAG.SEQUENCE).value)) {
    if (p.tag !== TAG.SEQUENCE) throw bad('certificatePolicies: PolicyInformation is not a SEQUENCE');
    const f = children(p.value);
    if (f.length < 1 || f.length > 2) throw bad('certificatePolicies: bad PolicyInformation');
    if (f[1] && f[1].tag !== TAG.SEQUENCE) throw bad('certificatePolicies: bad qualifiers');
    if (f[1]) checkDER(f[1].value);
    const oid = readOID(f[0]!);
    if (out.includes(oid)) throw bad('certificatePolicies: duplicate policy');
    out.push(oid);
  }
  if (out.length === 0) throw bad('certificatePolicies: empty');
  return out;
}

/** Checks authorityInfoAccess (RFC 5280 4.2.2.1): `SEQUENCE SIZE (1..MAX) OF AccessDescription`. */
export function parseAuthorityInfoAccess(der: Uint8Array): Array<{ method: string; location: GeneralName }> {
  const out = children(readOne(der, TAG.SEQUENCE).value).map((a) => {
    if (a.tag !== TAG.SEQUENCE) throw bad('authorityInfoAccess: AccessDescription is not a SEQUENCE');
    const f = children(a.value);
    if (f.length !== 2) throw bad('authorityInfoAccess: bad AccessDescription');
    return { method: readOID(f[0]!), location: parseGeneralName(f[1]!) };
  });
  if (out.length === 0) throw bad('authorityInfoAccess: empty');
  return out;
}
