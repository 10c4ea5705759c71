/**
 * X.501 distinguished names as RFC 5280 4.1.2.4 uses them:
 *
 *   Name ::= CHOICE { rdnSequence RDNSequence }
 *   RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
 *   RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
 *   AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY DEFINED BY type }
 *
 * Each name carries a comparison key following RFC 5280 7.1 in simplified form: PrintableString, UTF8String and
 * IA5String values compare case-insensitively after trimming and folding inner whitespace (RFC 4518 insignificant
 * space handling); every other string type compares byte for byte; attribute order inside one RDN is ignored.
 */
import { CustodyError } from '../errors.js';
import { children, readOID, readOne, TAG, type TLV } from '../asn1/der.js';
import { toHex } from '../util/bytes.js';

/** One AttributeTypeAndValue: the type OID, the value's tag and its content bytes. */
export interface NameAttribute {
  readonly type: string;
  readonly tag: number;
  readonly value: Uint8Array;
}

/** A decoded Name: its DER, its RDNs, a readable form and the RFC 5280 7.1 comparison key. */
export interface ParsedName {
  readonly der: Uint8Array;
  readonly rdns: ReadonlyArray<ReadonlyArray<NameAttribute>>;
  /** Readable form, most significant RDN first: `C=DE, O=Acme, CN=Issuing CA`. */
  readonly text: string;
  /** Normalized comparison key: equal keys mean equal names under RFC 5280 7.1 (simplified). */
  readonly key: string;
  /** Normalized key of each RDN, in order (used for directoryName subtree matching). */
  readonly rdnKeys: readonly string[];
}

const SHORT: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const FOLDED_TAGS = new Set<number>([TAG.PRINTABLE_STRING, TAG.UTF8_STRING, TAG.IA5_STRING]);
const decoder = new TextDecoder('utf-8', { fatal: true });

function bad(what: string): CustodyError {
  return new CustodyError('ERR_CERT_PARSE', `Name: ${what}`);
}

/** Text of a string-typed attribute value, or undefined when it is not a string we can render. */
export function attributeText(a: NameAttribute): string | undefined {
  try {
    if (a.tag === TAG.UTF8_STRING || a.tag === TAG.PRINTABLE_STRING || a.tag === TAG.IA5_STRING || a.tag === 0x1a || a.tag === 0x14) {
      return decoder.decode(a.value);
    }
    if (a.tag === 0x1e && a.value.length % 2 === 0) {
      let s = '';
      for (let i = 0; i < a.value.length; i += 2) s += String.fromCharCode((a.value[i]! << 8) | a.value[i + 1]!);
      return s;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function attributeKey(a: NameAttribute): string {
  if (FOLDED_TAGS.has(a.tag)) {
    const s = attributeText(a);
    if (s !== undefined) return `${a.type}=s:${s.trim().replace(/\s+/g, ' ').toLowerCase()}`;
  }
  return `${a.type}=${a.tag.toString(16)}:${toHex(a.value)}`;
}

function parseAttribute(t: TLV): NameAttribute {
  if (t.tag !== TAG.SEQUENCE) throw bad('AttributeTypeAndValue is not a SEQUENCE');
  const parts = children(t.value);
  if (parts.length !== 2) throw bad('AttributeTypeAndValue needs a type and a value');
  const type = readOID(parts[0]!);
  const v = parts[1]!;
  if (v.tag === TAG.UTF8_STRING && attributeText({ type, tag: v.tag, value: v.value }) === undefined) {
    throw bad(`attribute ${type} is not valid UTF-8`);
  }
  return { type, tag: v.tag, value: v.value };
}

/** Decodes a DER Name. Throws ERR_CERT_PARSE on malformed input. */
export function parseName(der: Uint8Array): ParsedName {
  let rdns: NameAttribute[][];
  try {
    const outer = readOne(der, TAG.SEQUENCE);
    rdns = children(outer.value).map((rdn) => {
      if (rdn.tag !== TAG.SET) throw bad('RDN is not a SET');
      const attrs = children(rdn.value).map(parseAttribute);
      if (attrs.length === 0) throw bad('empty RDN');
      return attrs;
    });
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_CERT_PARSE') throw e;
    throw new CustodyError('ERR_CERT_PARSE', `Name: ${(e as Error).message}`, { cause: e });
  }
  const rdnKeys = rdns.map((rdn) => rdn.map(attributeKey).sort().join('+'));
  const text = rdns
    .map((rdn) => rdn.map((a) => `${SHORT[a.type] ?? a.type}=${attributeText(a) ?? `#${toHex(a.value)}`}`).join('+'))
    .join(', ');
  return { der, rdns, text, key: rdnKeys.join('/'), rdnKeys };
}

/** True when two names are equal under the RFC 5280 7.1 comparison used here. */
export function namesEqual(a: ParsedName, b: ParsedName): boolean {
  return a.key === b.key;
}

/** True when `prefix`'s RDNs open `name` (directoryName subtree membership, RFC 5280 4.2.1.10). */
export function isNameWithin(name: ParsedName, prefix: ParsedName): boolean {
  if (prefix.rdnKeys.length > name.rdnKeys.length) return false;
  for (let i = 0; i < prefix.rdnKeys.length; i++) if (prefix.rdnKeys[i] !== name.rdnKeys[i]) return false;
  return true;
}
