/**
 * X.501 distinguished names, the one names module: parsing, rendering and comparison (RFC 5280 4.1.2.4).
 *
 *   Name ::= CHOICE { rdnSequence RDNSequence }
 *   RDNSequence ::= SEQUENCE OF RelativeDistinguishedName
 *   RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
 *   AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY DEFINED BY type }
 *
 * Parsing is strict: every value is a primitive universal string type (DirectoryString, IA5String, NumericString,
 * VisibleString) whose contents fit its type, a multi-valued RDN is in DER SET OF order with no attribute type
 * twice. Rendering and the comparison key are computed on first use, since most certificates on the verification
 * path are compared by bytes and never printed.
 *
 * Comparison follows RFC 5280 7.1 with the RFC 4518 steps custody needs: values of the Unicode-capable string types
 * (PrintableString, UTF8String, IA5String, VisibleString, BMPString, UniversalString) compare after NFKC
 * normalization, case folding (`toLowerCase`), trimming and folding inner whitespace runs to one space, whatever
 * their tags; NumericString drops its spaces; TeletexString compares byte for byte. RDNs compare in order; the
 * attributes inside one RDN as a set.
 */
import { CustodyError } from '../errors.js';
import { children, readOID, readOne, TAG, type TLV } from '../asn1/der.js';
import { NAME_ATTRIBUTE_SHORT } from '../asn1/oids.js';
import { equalBytes, toHex } from '../util/bytes.js';

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
  /**
   * Readable form, most significant RDN first, `, ` between RDNs: `C=DE, O=Acme, CN=Issuing CA` (the order OpenSSL
   * prints). Types and escaping are RFC 4514's; `rfc4514` is the same rendering in RFC 4514 order.
   */
  readonly text: string;
  /** The RFC 4514 string: least significant RDN first, `,` between RDNs: `CN=Issuing CA,O=Acme,C=DE`. */
  readonly rfc4514: string;
  /** Normalized comparison key: equal keys mean equal names under RFC 5280 7.1. */
  readonly key: string;
  /** Normalized key of each RDN, in order (used for directoryName subtree matching). */
  readonly rdnKeys: readonly string[];
}

const STRING_TAGS = {
  NUMERIC: 0x12,
  PRINTABLE: TAG.PRINTABLE_STRING,
  TELETEX: 0x14,
  IA5: TAG.IA5_STRING,
  VISIBLE: 0x1a,
  UNIVERSAL: 0x1c,
  UTF8: TAG.UTF8_STRING,
  BMP: 0x1e,
} as const;

const decoder = new TextDecoder('utf-8', { fatal: true });

function bad(what: string): CustodyError {
  return new CustodyError('ERR_CERT_PARSE', `Name: ${what}`);
}

/** PrintableString characters (X.680 41.4): A-Z a-z 0-9 space ' ( ) + , - . / : = ? */
const PRINTABLE = (() => {
  const t = new Uint8Array(128);
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?") t[c.charCodeAt(0)] = 1;
  return t;
})();

/** Why the content bytes do not fit the string type `tag`, or undefined when they do. */
function contentProblem(tag: number, v: Uint8Array): string | undefined {
  switch (tag) {
    case STRING_TAGS.PRINTABLE:
      for (const b of v) if (b > 0x7f || !PRINTABLE[b]) return 'PrintableString with a character outside its set';
      return undefined;
    case STRING_TAGS.IA5:
      for (const b of v) if (b > 0x7f) return 'IA5String with a non-ASCII byte';
      return undefined;
    case STRING_TAGS.NUMERIC:
      for (const b of v) if (b !== 0x20 && (b < 0x30 || b > 0x39)) return 'NumericString with a character other than a digit or space';
      return undefined;
    case STRING_TAGS.VISIBLE:
      for (const b of v) if (b < 0x20 || b > 0x7e) return 'VisibleString with a control or non-ASCII byte';
      return undefined;
    case STRING_TAGS.UTF8:
      for (const b of v) if (b > 0x7f) return utf8Problem(v);
      return undefined;
    case STRING_TAGS.BMP:
      if (v.length % 2 !== 0) return 'BMPString of odd length';
      for (let i = 0; i < v.length; i += 2) if (v[i]! >= 0xd8 && v[i]! <= 0xdf) return 'BMPString with a surrogate code unit';
      return undefined;
    case STRING_TAGS.UNIVERSAL:
      if (v.length % 4 !== 0) return 'UniversalString length is not a multiple of 4';
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 'UniversalString with an invalid code point';
      }
      return undefined;
    case STRING_TAGS.TELETEX:
      return undefined;
    default:
      return `value with tag 0x${tag.toString(16)} is not a primitive universal string type`;
  }
}

function utf8Problem(v: Uint8Array): string | undefined {
  try {
    decoder.decode(v);
    return undefined;
  } catch {
    return 'UTF8String that is not valid UTF-8';
  }
}

/**
 * Text of an attribute value (parsed, so its contents fit its tag). TeletexString is read as Latin-1, the
 * reading every common toolkit gives it.
 */
export function attributeText(a: NameAttribute): string {
  const v = a.value;
  switch (a.tag) {
    case STRING_TAGS.UTF8:
      return decoder.decode(v);
    case STRING_TAGS.BMP: {
      let s = '';
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case STRING_TAGS.UNIVERSAL: {
      let s = '';
      for (let i = 0; i < v.length; i += 4) s += String.fromCodePoint(((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0);
      return s;
    }
    default: {
      let s = '';
      for (let i = 0; i < v.length; i++) s += String.fromCharCode(v[i]!);
      return s;
    }
  }
}

/** The RFC 4518 / RFC 5280 7.1 comparison form of one attribute. */
function attributeKey(a: NameAttribute): string {
  if (a.tag === STRING_TAGS.TELETEX) return `${a.type}=t:${toHex(a.value)}`;
  const s = attributeText(a).normalize('NFKC').toLowerCase();
  if (a.tag === STRING_TAGS.NUMERIC) return `${a.type}=s:${s.replace(/ /g, '')}`;
  return `${a.type}=s:${s.trim().replace(/\s+/g, ' ')}`;
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\\"+,;<>\u0000-\u001f\u007f]/;

/** RFC 4514 2.4 escaping of one value. */
function escapeValue(s: string): string {
  // Most values need no escape: returned as they are, as the replacements below would return them.
  if (!NEEDS_ESCAPE.test(s) && !s.startsWith('#') && !s.startsWith(' ') && !s.endsWith(' ')) return s;
  let out = s.replace(/[\\"+,;<>]/g, '\\$&').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function renderRDN(rdn: ReadonlyArray<NameAttribute>): string {
  return rdn.map((a) => `${NAME_ATTRIBUTE_SHORT.get(a.type) ?? a.type}=${escapeValue(attributeText(a))}`).join('+');
}

/** `compareBytes` as DER SET OF orders elements (X.690 11.6): shorter ones padded with zero octets. */
function setOrder(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x - y;
  }
  return 0;
}

function parseAttribute(t: TLV): NameAttribute {
  if (t.tag !== TAG.SEQUENCE) throw bad('AttributeTypeAndValue is not a SEQUENCE');
  const parts = children(t.value, 3);
  if (parts.length !== 2) throw bad('AttributeTypeAndValue needs a type and a value');
  const type = readOID(parts[0]!);
  const v = parts[1]!;
  const problem = contentProblem(v.tag, v.value);
  if (problem) throw bad(`attribute ${type}: ${problem}`);
  return { type, tag: v.tag, value: v.value };
}

function parseRDN(rdn: TLV): NameAttribute[] {
  if (rdn.tag !== TAG.SET) throw bad('RDN is not a SET');
  const items = children(rdn.value);
  if (items.length === 0) throw bad('empty RDN');
  const attrs = items.map(parseAttribute);
  for (let i = 1; i < items.length; i++) {
    if (setOrder(items[i - 1]!.raw, items[i]!.raw) > 0) throw bad('multi-valued RDN is not in DER SET OF order');
    for (let j = 0; j < i; j++) if (attrs[j]!.type === attrs[i]!.type) throw bad(`attribute ${attrs[i]!.type} twice in one RDN`);
  }
  return attrs;
}

class Name implements ParsedName {
  #text?: string;
  #rfc4514?: string;
  #rdnKeys?: string[];
  #key?: string;

  constructor(
    readonly der: Uint8Array,
    readonly rdns: ReadonlyArray<ReadonlyArray<NameAttribute>>,
  ) {}

  get text(): string {
    return (this.#text ??= this.rdns.map(renderRDN).join(', '));
  }

  get rfc4514(): string {
    return (this.#rfc4514 ??= this.rdns.map(renderRDN).reverse().join(','));
  }

  get rdnKeys(): readonly string[] {
    return (this.#rdnKeys ??= this.rdns.map((rdn) => rdn.map(attributeKey).sort().join('+')));
  }

  get key(): string {
    return (this.#key ??= this.rdnKeys.join('/'));
  }
}

/**
 * Decodes a DER Name (the whole TLV).
 * @throws CustodyError ERR_CERT_PARSE on malformed DER, a value that is not a string of its declared type, an RDN
 *   out of DER order or with an attribute type twice
 */
export function parseName(der: Uint8Array): ParsedName {
  try {
    const outer = readOne(der, TAG.SEQUENCE);
    return new Name(der, children(outer.value).map(parseRDN));
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_CERT_PARSE') throw e;
    throw new CustodyError('ERR_CERT_PARSE', `Name: ${(e as Error).message}`, { cause: e });
  }
}

/** True when two names are equal under the RFC 5280 7.1 comparison above; identical DER is equal at once. */
export function namesEqual(a: ParsedName, b: ParsedName): boolean {
  return equalBytes(a.der, b.der) || a.key === b.key;
}

/** True when `prefix`'s RDNs open `name` (directoryName subtree membership, RFC 5280 4.2.1.10). */
export function isNameWithin(name: ParsedName, prefix: ParsedName): boolean {
  if (prefix.rdnKeys.length > name.rdnKeys.length) return false;
  for (let i = 0; i < prefix.rdnKeys.length; i++) if (prefix.rdnKeys[i] !== name.rdnKeys[i]) return false;
  return true;
}

/** Attributes of a name as [short name or dotted OID, text] in order, most significant first. */
export function nameAttributeList(name: ParsedName): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const rdn of name.rdns) for (const a of rdn) out.push([NAME_ATTRIBUTE_SHORT.get(a.type) ?? a.type, attributeText(a)]);
  return out;
}
